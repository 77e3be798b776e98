#include "autodiff/shape.hpp"

#include "autodiff/error.hpp"

namespace tapegrad {

void Shape::throw_rank(size_t rank) { raise<ShapeError>("Shape: rank {} exceeds the maximum of {}", rank, kMaxRank); }

void Shape::throw_negative(int64_t dim, size_t axis) {
  raise<ShapeError>("Shape: negative dimension {} at axis {}", dim, axis);
}

void Shape::throw_too_many_elements() const { raise<ShapeError>("Shape {}: more than 2^62 elements", str()); }

std::string Shape::str() const { return fmt::format("[{}]", fmt::join(dims(), ", ")); }

Strides contiguous_strides(const Shape& s) {
  Strides st{};
  int64_t step = 1;
  for (int i = s.rank() - 1; i >= 0; --i) {
    st[static_cast<size_t>(i)] = step;
    step *= s[i];
  }
  return st;
}

Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
  const int rank = std::max(a.rank(), b.rank());
  std::array<int64_t, kMaxRank> dims{};
  for (int i = 0; i < rank; ++i) {
    const int ia = a.rank() - rank + i, ib = b.rank() - rank + i;
    const int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1) raise<ShapeError>("{}: shapes do not broadcast, got {} and {}", op, a, b);
    dims[static_cast<size_t>(i)] = da == 1 ? db : da;
  }
  return Shape(std::span<const int64_t>(dims.data(), static_cast<size_t>(rank)));
}

Strides broadcast_strides(const Shape& src, const Shape& out) {
  const Strides own = contiguous_strides(src);
  Strides st{};
  const int offset = out.rank() - src.rank();
  for (int i = 0; i < out.rank(); ++i) {
    const int j = i - offset;
    st[static_cast<size_t>(i)] = (j < 0 || src[j] == 1) ? 0 : own[static_cast<size_t>(j)];
  }
  return st;
}

int normalize_axis(const char* op, int axis, int rank) {
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) raise<ShapeError>("{}: axis {} is out of range for a tensor of rank {}", op, axis, rank);
  return a;
}

Shape reduced_shape(const char* op, const Shape& s, std::span<const int> axes) {
  Shape out = s;
  if (axes.empty()) {
    for (int i = 0; i < s.rank(); ++i) out[i] = 1;
    return out;
  }
  for (int axis : axes) out[normalize_axis(op, axis, s.rank())] = 1;
  return out;
}

}  // namespace tapegrad
