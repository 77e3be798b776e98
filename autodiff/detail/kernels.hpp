#pragma once
// Array kernels of the tensor ops (no tape in them): broadcast iteration, parallel elementwise
// loops (autodiff/parallel.hpp), sum-to-shape (un-broadcast), broadcast-to-shape and the one BLAS GEMM call site.
#include <array>
#include <cstdint>

#include "autodiff/array.hpp"
#include "autodiff/parallel.hpp"

namespace tapegrad::kernels {

/// Visits every element of `out` in row-major order: f(i, offsets) with offsets[k] the element's
/// offset in operand k, read through strides[k] (0 on broadcast axes). Adjacent axes that every
/// operand walks as one (stride[d] = stride[d + 1] * out[d + 1]) are merged first, so a contiguous or
/// wholly broadcast operand runs one long inner loop instead of an odometer step per row.
template <size_t N, class F>
void for_each_broadcast(const Shape& out, const std::array<Strides, N>& strides, F&& f) {
  const int64_t total = out.numel();
  if (total == 0) return;
  std::array<int64_t, kMaxRank> size{};
  std::array<Strides, N> step{};
  int rank = 0;
  for (int d = 0; d < out.rank(); ++d) {
    const auto ud = static_cast<size_t>(d);
    if (out[d] == 1) continue;  // a size-1 axis moves no operand
    bool merges = rank > 0;
    for (size_t k = 0; k < N && merges; ++k) merges = step[k][static_cast<size_t>(rank - 1)] == strides[k][ud] * out[d];
    const auto axis = static_cast<size_t>(merges ? rank - 1 : rank++);
    size[axis] = merges ? size[axis] * out[d] : out[d];
    for (size_t k = 0; k < N; ++k) step[k][axis] = strides[k][ud];
  }
  std::array<int64_t, N> base{};
  if (rank == 0) {
    f(int64_t{0}, base);
    return;
  }
  const auto last = static_cast<size_t>(rank - 1);
  const int64_t inner = size[last];
  std::array<int64_t, kMaxRank> idx{};
  for (int64_t i = 0; i < total; i += inner) {
    std::array<int64_t, N> off = base;
    for (int64_t j = 0; j < inner; ++j) {
      f(i + j, off);
      for (size_t k = 0; k < N; ++k) off[k] += step[k][last];
    }
    for (size_t d = last; d-- > 0;) {  // odometer over the outer axes
      for (size_t k = 0; k < N; ++k) base[k] += step[k][d];
      if (++idx[d] < size[d]) break;
      for (size_t k = 0; k < N; ++k) base[k] -= step[k][d] * size[d];
      idx[d] = 0;
    }
  }
}

/// dst (shape `target`) = src summed over the axes where `target` is 1 or absent (un-broadcast).
void sum_to(const Array& src, const Shape& target, Array& dst);
/// dst (shape `out`) = src broadcast to `out`; `src_shape` is src read as a broadcastable shape
/// (e.g. the keepdim shape of a reduction).
void broadcast_to(const Array& src, const Shape& src_shape, const Shape& out, Array& dst);
/// dst += src, same element count and dtype.
void add_into(Array& dst, const Array& src);

/// Row-major C = op(A) op(B) + beta C through the BLAS (op(X) = X^T when the flag is set); A is
/// m x k after op, B is k x n after op. Products too small to gain from threads run on one thread.
/// T is float or double (instantiated in kernels.cpp).
template <class T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T beta, T* c);

}  // namespace tapegrad::kernels
