// Writing your own tensor op with the public op API (autodiff/op.hpp): forward and backward side by
// side, a buffer saved for the backward pass, the library's parallel loop, then a gradient check,
// as the library's own ops are written (autodiff/ops/*.cpp).
#include <fmt/core.h>

#include <autodiff/gradcheck.hpp>
#include <autodiff/op.hpp>
#include <autodiff/ops/elementwise.hpp>
#include <autodiff/ops/reduce.hpp>
#include <autodiff/parallel.hpp>
#include <vector>

using namespace tapegrad;

/// y = x^3 elementwise (float64); dy/dx = 3 x^2, computed in the forward pass and saved.
Tensor cube(const Tensor& x) {
  OpRecord op("cube", {&x});  // resolves x on the active tape
  const Array& xv = op.in(0);
  if (xv.dtype() != DType::f64) raise<ValueError>("cube: expects float64, got {}", dtype_name(xv.dtype()));
  Array& y = op.output(xv.shape(), DType::f64);                 // pooled: no allocation once warm
  Array& slope = op.save_for_backward(xv.shape(), DType::f64);  // lives until tape.clear()
  // The forward reads its buffers through the Arrays (a leaf's storage may be replaced between
  // replays), run now and again by Tape::replay.
  op.forward([&xv, &y, &slope] {
    const double* px = xv.data<double>();
    double* py = y.data<double>();
    double* ps = slope.data<double>();
    parallel_for(xv.numel(), [=](int64_t i) {
      py[i] = px[i] * px[i] * px[i];
      ps[i] = 3 * px[i] * px[i];  // dy/dx = 3 x^2
    });
  });
  const double* ps = slope.data<double>();  // pooled: the same buffer for the recording's life
  return op.finish(
      [ps](BackwardContext& c) {  // captures a pointer: trivially destructible
        if (!c.needs_grad(0)) return;
        const double* g = c.grad_output().data<double>();
        double* gx = c.grad_input(0).data<double>();  // accumulate: x may feed other ops too
        parallel_for(c.output().numel(), [=](int64_t i) { gx[i] += g[i] * ps[i]; });
      },
      // The tangent rule, dy = 3 x^2 dx, written with tensor ops so that second derivatives
      // (hvp, gradgradcheck) differentiate it in turn.
      [](TangentContext& c) { return c.tangent(0) * square(c.input(0)) * 3.0; });
}

int main() {
  const std::vector<Array> inputs{Array(Shape{2, 3}, {0.5, -1.0, 2.0, 0.1, -0.3, 1.5})};
  const TensorFunction f = [](std::span<const Tensor> t) { return sum(cube(t[0]) * t[0]); };
  const auto check = gradcheck(f, inputs);
  const auto second = gradgradcheck(f, inputs);
  fmt::print("custom op 'cube': gradcheck {} (max |numeric - analytic| = {:.2e}), gradgradcheck {} ({:.2e})\n",
             check ? "passed" : "FAILED", check.max_abs_error, second ? "passed" : "FAILED", second.max_abs_error);
  return check && second ? 0 : 1;
}
