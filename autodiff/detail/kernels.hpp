#pragma once
// Array kernels of the tensor ops (no tape in them): broadcast iteration, parallel elementwise
// loops (autodiff/parallel.hpp), sum-to-shape (un-broadcast), broadcast-to-shape and the one BLAS GEMM call site.
#include <array>
#include <cstdint>

#include "autodiff/array.hpp"
#include "autodiff/parallel.hpp"

namespace tapegrad::kernels {

/// Visits every element of `out` in row-major order: f(i, offsets) with offsets[k] the element's
/// offset in operand k, read through strides[k] (0 on broadcast axes).
template <size_t N, class F>
void for_each_broadcast(const Shape& out, const std::array<Strides, N>& strides, F&& f) {
  const int64_t total = out.numel();
  if (total == 0) return;
  const int rank = out.rank();
  std::array<int64_t, N> base{};
  if (rank == 0) {
    f(int64_t{0}, base);
    return;
  }
  const int last = rank - 1;
  const int64_t inner = out[last];
  std::array<int64_t, kMaxRank> idx{};
  for (int64_t i = 0; i < total; i += inner) {
    std::array<int64_t, N> off = base;
    for (int64_t j = 0; j < inner; ++j) {
      f(i + j, off);
      for (size_t k = 0; k < N; ++k) off[k] += strides[k][static_cast<size_t>(last)];
    }
    for (int d = last - 1; d >= 0; --d) {  // odometer over the outer axes
      const auto ud = static_cast<size_t>(d);
      for (size_t k = 0; k < N; ++k) base[k] += strides[k][ud];
      if (++idx[ud] < out[d]) break;
      for (size_t k = 0; k < N; ++k) base[k] -= strides[k][ud] * out[d];
      idx[ud] = 0;
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
