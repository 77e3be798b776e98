// Writing your own tensor op: forward and backward side by side with tapegrad::OpRecord, then a
// gradient check, as the library's own ops do (autodiff/ops/*.cpp).
#include <fmt/core.h>

#include <autodiff/autodiff.hpp>
#include <cmath>
#include <vector>

using namespace tapegrad;

/// y = x^3 elementwise (float64); dy/dx = 3 x^2.
Tensor cube(const Tensor& x) {
  OpRecord op("cube", {&x});  // resolves x on the active tape
  const Array& xv = op.in(0);
  if (xv.dtype() != DType::f64) raise<ValueError>("cube: expects float64, got {}", dtype_name(xv.dtype()));
  Array& y = op.output(xv.shape(), DType::f64);  // a pooled buffer (no allocation once warm)
  for (int64_t i = 0; i < xv.numel(); ++i) y.data<double>()[i] = std::pow(xv.data<double>()[i], 3);
  return op.finish([](BackwardContext& c) {  // captures nothing: trivially destructible
    const double* xs = c.input(0).data<double>();
    const double* g = c.grad_output().data<double>();
    double* gx = c.grad_input(0).data<double>();  // accumulate: x may feed other ops too
    for (int64_t i = 0; i < c.input(0).numel(); ++i) gx[i] += g[i] * 3 * xs[i] * xs[i];
  });
}

int main() {
  const std::vector<Array> inputs{Array(Shape{2, 3}, {0.5, -1.0, 2.0, 0.1, -0.3, 1.5})};
  const auto check = gradcheck([](std::span<const Tensor> t) { return sum(cube(t[0]) * t[0]); }, inputs);
  fmt::print("custom op 'cube': gradcheck {} (max |numeric - analytic| = {:.2e})\n", check ? "passed" : "FAILED",
             check.max_abs_error);
  return check ? 0 : 1;
}
