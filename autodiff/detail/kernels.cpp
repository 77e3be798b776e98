#include "autodiff/detail/kernels.hpp"

#include "autodiff/blas.hpp"
#include "autodiff/threads.hpp"

namespace tapegrad::kernels {

void sum_to(const Array& src, const Shape& target, Array& dst) {
  dst.resize(target, src.dtype());
  dst.fill(0.0);
  visit(src.dtype(), [&]<class T>(T) {
    const T* s = src.data<T>();
    T* d = dst.data<T>();
    for_each_broadcast<1>(src.shape(), {broadcast_strides(target, src.shape())},
                          [&](int64_t i, const std::array<int64_t, 1>& o) { d[o[0]] += s[i]; });
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
