#pragma once
/// \file
/// Shape: up to kMaxRank dimensions stored inline (no heap), NumPy broadcasting rules.
#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

namespace tapegrad {

/// The largest rank a Shape holds (dimensions are stored inline).
inline constexpr int kMaxRank = 6;
/// The largest element count of a shape (so that byte counts of float64 data fit in 64 bits).
inline constexpr int64_t kMaxElements = int64_t{1} << 62;

/// Dimensions of a tensor, up to kMaxRank, each >= 0; rank 0 is a scalar. Checked on construction.
class Shape {
 public:
  Shape() = default;
  /// The dimensions listed: `Shape{3, 4}`; ShapeError for a negative dimension, too many, or too many elements.
  Shape(std::initializer_list<int64_t> dims) : Shape(std::span<const int64_t>(dims.begin(), dims.size())) {}
  /// The dimensions in a span (checked as the list form).
  explicit Shape(std::span<const int64_t> dims) {  // inline: ops make a shape or two each
    if (dims.size() > static_cast<size_t>(kMaxRank)) [[unlikely]]
      throw_rank(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] < 0) [[unlikely]]
        throw_negative(dims[i], i);
      dims_[i] = dims[i];
    }
    rank_ = static_cast<int>(dims.size());
    (void)numel();  // the element count must be representable
  }

  /// Number of dimensions.
  int rank() const { return rank_; }
  ///@{
  /// Dimension `axis` (0 <= axis < rank(), unchecked).
  int64_t operator[](int axis) const { return dims_[static_cast<size_t>(axis)]; }
  int64_t& operator[](int axis) { return dims_[static_cast<size_t>(axis)]; }
  ///@}
  /// The element count; ShapeError if it exceeds kMaxElements (every constructor checks it).
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank_; ++i)
      if (__builtin_mul_overflow(n, dims_[static_cast<size_t>(i)], &n) || n > kMaxElements) [[unlikely]]
        throw_too_many_elements();
    return n;
  }
  /// The dimensions as a span.
  std::span<const int64_t> dims() const { return {dims_.data(), static_cast<size_t>(rank_)}; }
  ///@{
  /// Iteration over the dimensions.
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + rank_; }
  ///@}

  /// Same rank and same dimensions.
  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a.dims_[static_cast<size_t>(i)] != b.dims_[static_cast<size_t>(i)]) return false;
    return true;
  }

  /// "[3, 4]"; "[]" for a scalar.
  std::string str() const;

 private:
  [[noreturn]] void throw_too_many_elements() const;
  [[noreturn]] static void throw_rank(size_t rank);
  [[noreturn]] static void throw_negative(int64_t dim, size_t axis);
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

/// Row-major element strides, one per axis.
using Strides = std::array<int64_t, kMaxRank>;
/// The strides of a contiguous row-major array of shape s.
Strides contiguous_strides(const Shape& s);

/// The NumPy broadcast of a and b; ShapeError naming `op` and both shapes if they do not broadcast.
Shape broadcast_shape(const char* op, const Shape& a, const Shape& b);

/// Strides that read `src` as if it had been broadcast to `out` (0 on broadcast axes).
Strides broadcast_strides(const Shape& src, const Shape& out);

/// Normalises a possibly negative axis; ShapeError naming `op` if it is out of range.
int normalize_axis(const char* op, int axis, int rank);

/// The shape of a reduction over `axes` (all axes when empty) with the reduced axes kept as 1.
Shape reduced_shape(const char* op, const Shape& s, std::span<const int> axes);

}  // namespace tapegrad

// fmt::formatter specialisations, so `fmt::print("{}", x)` prints as to_string / str does (left out
// of the API reference: Doxygen cannot place a specialisation of a namespace it does not see).
/// \cond
template <>
struct fmt::formatter<tapegrad::Shape> : fmt::formatter<std::string_view> {
  auto format(const tapegrad::Shape& s, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(s.str(), ctx);
  }
};
/// \endcond
