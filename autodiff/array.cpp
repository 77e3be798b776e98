#include "autodiff/array.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#include "autodiff/error.hpp"

namespace tapegrad {

namespace {
constexpr std::align_val_t kAlign{64};
size_t element_size(DType d) { return d == DType::f32 ? sizeof(float) : sizeof(double); }
}  // namespace

const char* dtype_name(DType dtype) { return dtype == DType::f32 ? "float32" : "float64"; }

void Array::release() noexcept {
  if (data_ != inline_) ::operator delete[](data_, kAlign);
  data_ = inline_;
  capacity_ = kInlineBytes;
}

void Array::take_storage(Array& other) noexcept {
  if (other.data_ == other.inline_) {
    std::memcpy(inline_, other.inline_, kInlineBytes);
  } else {
    data_ = other.data_;
    capacity_ = other.capacity_;
    other.data_ = other.inline_;
    other.capacity_ = kInlineBytes;
  }
  other.shape_ = Shape{};  // a moved-from Array is a valid scalar
}

Array::Array(Array&& other) noexcept : shape_(other.shape_), dtype_(other.dtype_) { take_storage(other); }

Array& Array::operator=(Array&& other) noexcept {
  if (this != &other) {
    release();
    shape_ = other.shape_;
    dtype_ = other.dtype_;
    take_storage(other);
  }
  return *this;
}

Array::Array(const Shape& shape, DType dtype) {
  resize(shape, dtype);
  fill(0.0);
}

Array::Array(const Shape& shape, std::span<const double> values, DType dtype) {
  if (static_cast<int64_t>(values.size()) != shape.numel())
    raise<ShapeError>("Array: {} values given for shape {} ({} elements)", values.size(), shape, shape.numel());
  resize(shape, dtype);
  visit(dtype,
        [&]<class T>(T) { std::transform(values.begin(), values.end(), data<T>(), [](double v) { return T(v); }); });
}

Array Array::full(const Shape& shape, double v, DType dtype) {
  Array a;
  a.resize(shape, dtype);
  a.fill(v);
  return a;
}

Array::Array(const Array& other) : shape_(other.shape_), dtype_(other.dtype_) {
  resize(other.shape_, other.dtype_);
  if (numel() > 0) std::memcpy(data_, other.data_, static_cast<size_t>(numel()) * element_size(dtype_));
}

Array& Array::operator=(const Array& other) {
  if (this != &other) {
    resize(other.shape_, other.dtype_);
    if (numel() > 0) std::memcpy(data_, other.data_, static_cast<size_t>(numel()) * element_size(dtype_));
  }
  return *this;
}

double Array::at(int64_t flat) const {
  return visit(dtype_, [&](auto t) { return double(data<decltype(t)>()[flat]); });
}

void Array::set(int64_t flat, double v) {
  visit(dtype_, [&](auto t) { data<decltype(t)>()[flat] = decltype(t)(v); });
}

double Array::item() const {
  if (numel() != 1) raise<ShapeError>("item: expected a one-element array, got shape {}", shape_);
  return at(0);
}

std::vector<double> Array::to_vector() const {
  std::vector<double> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) v[static_cast<size_t>(i)] = at(i);
  return v;
}

void Array::grow(const Shape& shape, DType dtype) {
  size_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<size_t>(shape.numel()), element_size(dtype), &bytes))
    raise<ShapeError>("Array: shape {} of {} needs more bytes than a size_t holds", shape, dtype_name(dtype));
  constexpr size_t kMaxBytes = size_t{1} << 48;  // 256 TiB: refused before asking the allocator
  if (bytes > kMaxBytes)
    raise<Error>("Array: {} bytes for shape {} of {} is beyond any machine's memory", bytes, shape, dtype_name(dtype));
  if (bytes > capacity_) {
    const size_t cap = std::max<size_t>(bytes, 64);
    std::byte* buffer = nullptr;
    try {
      buffer = static_cast<std::byte*>(::operator new[](cap, kAlign));
    } catch (const std::bad_alloc&) {
      raise<Error>("Array: out of memory: {} bytes for shape {} of {}", cap, shape, dtype_name(dtype));
    }
    release();
    data_ = buffer;
    capacity_ = cap;
  }
  shape_ = shape;
  dtype_ = dtype;
}

void Array::fill(double v) {
  visit(dtype_, [&]<class T>(T) { std::fill_n(data<T>(), numel(), T(v)); });
}

void Array::assign(const Array& other) {
  if (other.numel() != numel())
    raise<ShapeError>("assign: element counts differ, got {} and {}", shape_, other.shape());
  visit(dtype_, [&]<class T>(T) {
    visit(other.dtype(), [&](auto u) {
      using U = decltype(u);
      std::transform(other.data<U>(), other.data<U>() + numel(), data<T>(), [](U x) { return T(x); });
    });
  });
}

}  // namespace tapegrad
