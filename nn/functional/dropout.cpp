#include "nn/functional/dropout.hpp"

#include "autodiff/op.hpp"
#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/linalg.hpp"
#include "autodiff/ops/shape_ops.hpp"
#include "nn/functional/linear.hpp"

namespace tapegrad::nn {

Tensor dropout(const Tensor& x, double p, std::mt19937_64& rng) {
  if (!(p >= 0.0 && p < 1.0)) raise<ValueError>("dropout: drop probability must be in [0, 1), got {}", p);
  OpRecord op("dropout", {&x});
  const Array& xv = op.in(0);
  Array& y = op.output(xv.shape(), xv.dtype());
  Array& mask = op.save_for_backward(xv.shape(), xv.dtype());  // 0 or 1 / (1 - p), kept for backward
  visit(xv.dtype(), [&]<class T>(T) {
    const T* px = xv.data<T>();
    T* py = y.data<T>();
    T* pm = mask.data<T>();
    draw_mask(pm, xv.numel(), p, static_cast<T>(1.0 / (1.0 - p)), rng);
#pragma omp simd
    for (int64_t i = 0; i < xv.numel(); ++i) py[i] = px[i] * pm[i];
  });
  const Array* kept = &mask;
  return op.finish(
      [kept](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          const T* pm = kept->data<T>();
          const T* g = c.grad_output().data<T>();
          T* gx = c.grad_input(0).template data<T>();
#pragma omp simd
          for (int64_t i = 0; i < kept->numel(); ++i) gx[i] += g[i] * pm[i];
        });
      },
      [kept](TangentContext& c) { return c.tangent(0) * Tensor(*kept); });  // the same mask
}

void draw_bernoulli(Array& mask, double keep, std::mt19937_64& rng) {
  if (!(keep > 0.0 && keep <= 1.0)) raise<ValueError>("DropConnect: keep probability must be in (0, 1], got {}", keep);
  visit(mask.dtype(), [&]<class T>(T) { draw_mask(mask.data<T>(), mask.numel(), 1.0 - keep, T(1), rng); });
}

Tensor dropconnect_linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& mask) {
  if (mask.shape() == weight.shape()) return linear(x, weight * mask, bias);  // eq. 11, one mask
  if (mask.rank() != 3 || x.rank() != 2 || mask.shape()[0] != x.shape()[0] || mask.shape()[1] != weight.shape()[0] ||
      mask.shape()[2] != weight.shape()[1])
    raise<ShapeError>("dropconnect_linear: mask must be {} or [batch, {}, {}] for input {}, got {}", weight.shape(),
                      weight.shape()[0], weight.shape()[1], x.shape(), mask.shape());
  // One mask per example: psi_i = (W o R_i) x_i (+ b), as a batched product [m, out, in] x [m, in, 1].
  const int64_t m = x.shape()[0];
  Tensor psi = reshape(matmul(weight * mask, reshape(x, {m, x.shape()[1], 1})), {m, weight.shape()[0]});
  return bias.defined() ? psi + bias : psi;
}

}  // namespace tapegrad::nn
