#include "autodiff/ops/softmax.hpp"

#include <cmath>
#include <limits>

#include "autodiff/op.hpp"
#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/reduce.hpp"

namespace tapegrad {

// log_softmax is a primitive, not x - logsumexp(x): log softmax_j = (x_j - max) - log sum_k
// exp(x_k - max) keeps the log of the sum apart from the max, so large logits lose nothing
// (float32 softmax([1e8, 1e8]) is [0.5, 0.5]; as x - logsumexp it was [1, 1], log 2 absorbed).
Tensor log_softmax(const Tensor& x, int axis) {
  OpRecord op("log_softmax", {&x});
  const Array& xv = op.in(0);
  const Shape& shape = xv.shape();
  const int a = normalize_axis("log_softmax", axis, shape.rank());
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < a; ++i) outer *= shape[i];
  for (int i = a + 1; i < shape.rank(); ++i) inner *= shape[i];
  const int64_t n = shape[a];
  Array& y = op.output(shape, xv.dtype());
  op.forward([&xv, &y, outer, inner, n] {
    visit(xv.dtype(), [&]<class T>(T) {
      const T* px = xv.data<T>();
      T* py = y.data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t base = o * n * inner + i;
          T top = -std::numeric_limits<T>::infinity();
          for (int64_t j = 0; j < n; ++j) {
            const T v = px[base + j * inner];
            top = v > top || v != v ? v : top;  // a NaN wins: the row is NaN
          }
          T sum = 0;
          for (int64_t j = 0; j < n; ++j) sum += std::exp(px[base + j * inner] - top);
          const T log_sum = std::log(sum);
          for (int64_t j = 0; j < n; ++j) py[base + j * inner] = (px[base + j * inner] - top) - log_sum;
        }
    });
  });
  return op.finish(
      [outer, inner, n](BackwardContext& c) {  // dx_j = g_j - softmax_j sum_k g_k
        visit(c.output().dtype(), [&]<class T>(T) {
          const T* py = c.output().data<T>();
          const T* g = c.grad_output().data<T>();
          T* gx = c.grad_input(0).data<T>();
          for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < inner; ++i) {
              const int64_t base = o * n * inner + i;
              T g_sum = 0;
              for (int64_t j = 0; j < n; ++j) g_sum += g[base + j * inner];
              for (int64_t j = 0; j < n; ++j) {
                const int64_t k = base + j * inner;
                gx[k] += g[k] - std::exp(py[k]) * g_sum;
              }
            }
        });
      },
      [a](TangentContext& c) {  // dy_j = dx_j - sum_k softmax_k dx_k
        const Tensor& t = c.tangent(0);
        const int axes[] = {a};
        return t - sum(t * exp(c.output()), axes, true);
      });
}

Tensor softmax(const Tensor& x, int axis) { return exp(log_softmax(x, axis)); }

}  // namespace tapegrad
