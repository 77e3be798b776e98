#pragma once
/// \file
/// Array: plain dense row-major storage (float or double) with deep value semantics and no tape.
/// Shared by the tape (values and gradients) and by nn/reference. resize() keeps capacity, so a
/// reused Array allocates nothing once it has been large enough. Up to 16 bytes (two doubles) live
/// in the Array itself: the tape's one-example values and gradients then cost no heap block and sit
/// beside their headers (moving such an Array moves its data: pointers into it do not survive).
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include "autodiff/shape.hpp"

namespace tapegrad {

/// Element type of an Array or Tensor: float32 or float64.
enum class DType : uint8_t { f32, f64 };
/// "float32" or "float64".
const char* dtype_name(DType dtype);

/// Calls f with a value of the element type: f(float{}) or f(double{}).
template <class F>
decltype(auto) visit(DType dtype, F&& f) {
  if (dtype == DType::f32) return f(float{});
  return f(double{});
}

/// A dense row-major float32/float64 buffer with a shape: the values (and gradients) Tensors hold.
/// Small arrays live inline; copying copies the data.
class Array {
 public:
  Array() = default;
  /// Zero-filled.
  explicit Array(const Shape& shape, DType dtype = DType::f64);
  /// Copies `values` (converted to dtype); ShapeError unless there are shape.numel() of them.
  Array(const Shape& shape, std::span<const double> values, DType dtype = DType::f64);
  /// Copies `values` (converted to dtype): `Array({2, 2}, {1, 2, 3, 4})`.
  Array(const Shape& shape, std::initializer_list<double> values, DType dtype = DType::f64)
      : Array(shape, std::span<const double>(values.begin(), values.size()), dtype) {}
  /// A rank-0 array holding v.
  static Array scalar(double v, DType dtype = DType::f64) { return Array(Shape{}, {v}, dtype); }
  /// Every element v.
  static Array full(const Shape& shape, double v, DType dtype = DType::f64);

  ///@{
  /// Copies and moves: a copy duplicates the data, a move takes the buffer.
  Array(const Array& other);
  Array& operator=(const Array& other);
  Array(Array&& other) noexcept;
  Array& operator=(Array&& other) noexcept;
  ///@}
  ~Array() { release(); }

  /// The shape (dimensions).
  const Shape& shape() const { return shape_; }
  /// The element type.
  DType dtype() const { return dtype_; }
  /// Number of elements (product of the dimensions).
  int64_t numel() const { return shape_.numel(); }
  /// Number of dimensions.
  int rank() const { return shape_.rank(); }

  ///@{
  /// The elements as T (float or double, matching dtype(); the caller checks).
  template <class T>
  T* data() {
    return reinterpret_cast<T*>(data_);
  }
  template <class T>
  const T* data() const {
    return reinterpret_cast<const T*>(data_);
  }

  ///@}
  /// Element at a flat row-major index, converted to double.
  double at(int64_t flat) const;
  /// Sets the element at a flat row-major index (converted to the dtype).
  void set(int64_t flat, double v);
  /// The single element of a one-element array.
  double item() const;
  /// Every element, converted to double, in row-major order.
  std::vector<double> to_vector() const;

  /// Changes shape and dtype; contents are unspecified; keeps capacity (no allocation if it fits).
  void resize(const Shape& shape, DType dtype) {
    // Inline when it fits (every warm step's buffers): numel * element size <= numel * 8.
    if (static_cast<uint64_t>(shape.numel()) <= capacity_ / sizeof(double)) [[likely]] {
      shape_ = shape;
      dtype_ = dtype;
    } else {
      grow(shape, dtype);
    }
  }
  /// Sets every element to v.
  void fill(double v);
  /// Copies values (converting dtype) from an array with the same number of elements.
  void assign(const Array& other);
  /// Same data, new shape with the same element count (checked by the caller).
  void reshape_in_place(const Shape& shape) { shape_ = shape; }

 private:
  static constexpr size_t kInlineBytes = 16;
  void grow(const Shape& shape, DType dtype);  ///< resize when it may not fit (checks, allocates)
  void release() noexcept;                     ///< back to the inline storage, freeing a heap buffer
  void take_storage(Array& other) noexcept;    ///< other's data (this holds no heap buffer)
  /// The data pointer and the inline bytes first, in one aligned 32-byte half of a cache line: reading
  /// a small value touches one line wherever the header sits (pooled headers lie side by side).
  alignas(32) std::byte* data_ = inline_;  ///< inline_, or a heap buffer of capacity_ bytes
  size_t capacity_ = kInlineBytes;
  alignas(16) std::byte inline_[kInlineBytes]{};
  Shape shape_;
  DType dtype_ = DType::f64;
};

}  // namespace tapegrad
