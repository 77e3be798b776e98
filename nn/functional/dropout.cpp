#include "nn/functional/dropout.hpp"

#include "autodiff/op.hpp"
#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/linalg.hpp"
#include "autodiff/ops/shape_ops.hpp"
#include "nn/functional/linear.hpp"

namespace tapegrad::nn {

namespace {
/// out = in * mask (kAdd: out += in * mask), one mask entry per run of `run` consecutive elements.
template <bool kAdd, class T>
void apply_mask(const T* in, const T* mask, T* out, int64_t runs, int64_t run) {
  if (run == 1) {
#pragma omp simd
    for (int64_t i = 0; i < runs; ++i) out[i] = (kAdd ? out[i] : T(0)) + in[i] * mask[i];
    return;
  }
  for (int64_t q = 0; q < runs; ++q)
#pragma omp simd
    for (int64_t s = 0; s < run; ++s) out[q * run + s] = (kAdd ? out[q * run + s] : T(0)) + in[q * run + s] * mask[q];
}

/// Inverted dropout with one draw for each run of elements over x's last `shared_dims` dimensions
/// (0: every element, dropout; 2: every channel's plane, dropout2d). The mask has x's shape with
/// those dimensions 1, so it broadcasts against x in the tangent rule.
Tensor dropout_runs(const char* name, const Tensor& x, double p, std::mt19937_64& rng, int shared_dims) {
  if (!(p >= 0.0 && p < 1.0)) raise<ValueError>("{}: drop probability must be in [0, 1), got {}", name, p);
  OpRecord op(name, {&x});
  const Array& xv = op.in(0);
  Shape mask_shape = xv.shape();
  for (int d = xv.rank() - shared_dims; d < xv.rank(); ++d) mask_shape[d] = 1;
  const int64_t runs = mask_shape.numel(), run = runs == 0 ? 0 : xv.numel() / runs;
  Array& y = op.output(xv.shape(), xv.dtype());
  Array& mask = op.save_for_backward(mask_shape, xv.dtype());  // 0 or 1 / (1 - p), kept for backward
  op.forward([&xv, &y, &mask, &rng, p, runs, run] {            // replay draws the next mask from rng
    visit(xv.dtype(), [&]<class T>(T) {
      draw_mask(mask.data<T>(), runs, p, static_cast<T>(1.0 / (1.0 - p)), rng);
      apply_mask<false>(xv.data<T>(), mask.data<T>(), y.data<T>(), runs, run);
    });
  });
  const Array* kept = &mask;
  return op.finish(
      [kept, runs, run](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          apply_mask<true>(c.grad_output().data<T>(), kept->data<T>(), c.grad_input(0).template data<T>(), runs, run);
        });
      },
      [kept](TangentContext& c) { return c.tangent(0) * Tensor(*kept); });  // the same mask
}
}  // namespace

Tensor dropout(const Tensor& x, double p, std::mt19937_64& rng) { return dropout_runs("dropout", x, p, rng, 0); }

Tensor dropout2d(const Tensor& x, double p, std::mt19937_64& rng) {
  if (x.rank() != 3 && x.rank() != 4)
    raise<ShapeError>("Dropout2d: input must be [batch, channels, height, width] or [channels, height, width], got {}",
                      x.shape());
  return dropout_runs("dropout2d", x, p, rng, 2);
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
