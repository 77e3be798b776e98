#include "autodiff/detail/kernels.hpp"

#include <algorithm>

#include "autodiff/blas.hpp"
#include "autodiff/threads.hpp"

namespace tapegrad::kernels {

namespace {
/// The sum of a contiguous run, in two levels (vector-lane sums of blocks, then the blocks), both
/// in double: a float run of millions keeps float's accuracy, a double run stays near a pairwise sum.
template <class T>
T sum_run(const T* s, int64_t n) {
  constexpr int64_t kBlock = 4096;
  double total = 0;
  for (int64_t begin = 0; begin < n; begin += kBlock) {
    const int64_t end = std::min(n, begin + kBlock);
    double block = 0;
#pragma omp simd reduction(+ : block)
    for (int64_t i = begin; i < end; ++i) block += s[i];
    total += block;
  }
  return static_cast<T>(total);
}
}  // namespace

void sum_to(const Array& src, const Shape& target, Array& dst) {
  dst.resize(target, src.dtype());
  dst.fill(0.0);
  // Adjacent axes that are both summed over, or both kept and contiguous in dst, merge into one,
  // so the innermost loop runs over long contiguous stretches (a whole tensor for a full sum).
  const Strides to = broadcast_strides(target, src.shape());
  std::array<int64_t, kMaxRank> sizes{};
  Strides strides{};
  size_t axes = 0;
  for (int d = 0; d < src.rank(); ++d) {
    const int64_t size = src.shape()[d], stride = to[static_cast<size_t>(d)];
    if (size == 1) continue;
    if (axes > 0 && (stride == 0 ? strides[axes - 1] == 0 : strides[axes - 1] == stride * size)) {
      sizes[axes - 1] *= size;
      strides[axes - 1] = stride;
    } else {
      sizes[axes] = size;
      strides[axes++] = stride;
    }
  }
  if (axes == 0) sizes[axes++] = 1;  // a single element (stride 0: summed)
  const int64_t inner = sizes[axes - 1];
  const bool inner_summed = strides[axes - 1] == 0;
  // The outer axes, visited once per innermost run: row r starts at src[r * inner].
  const Shape outer(std::span<const int64_t>(sizes.data(), axes - 1));
  const Strides& outer_strides = strides;  // the innermost entry is past the outer shape's rank
  visit(src.dtype(), [&]<class T>(T) {
    const T* s = src.data<T>();
    T* d = dst.data<T>();
    for_each_broadcast<1>(outer, {outer_strides}, [&](int64_t row, const std::array<int64_t, 1>& o) {
      const T* in = s + row * inner;
      if (inner_summed) {
        d[o[0]] += sum_run(in, inner);
      } else {
        T* out = d + o[0];
#pragma omp simd
        for (int64_t j = 0; j < inner; ++j) out[j] += in[j];
      }
    });
  });
}

void broadcast_to(const Array& src, const Shape& src_shape, const Shape& out, Array& dst) {
  dst.resize(out, src.dtype());
  visit(src.dtype(), [&]<class T>(T) {
    const T* s = src.data<T>();
    T* d = dst.data<T>();
    for_each_broadcast<1>(out, {broadcast_strides(src_shape, out)},
                          [&](int64_t i, const std::array<int64_t, 1>& o) { d[i] = s[o[0]]; });
  });
}

void add_into(Array& dst, const Array& src) {
  visit(dst.dtype(), [&]<class T>(T) {
    T* d = dst.data<T>();
    const T* s = src.data<T>();
    parallel_for(dst.numel(), [=](int64_t i) { d[i] += s[i]; });
  });
}

template <class T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T beta, T* c) {
  blas::gemm(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, beta, c, n, num_threads());
}
template void gemm(bool, bool, int64_t, int64_t, int64_t, const float*, const float*, float, float*);
template void gemm(bool, bool, int64_t, int64_t, int64_t, const double*, const double*, double, double*);

}  // namespace tapegrad::kernels
