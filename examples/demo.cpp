// tapegrad demo: differentiate a scalar function, train a small model, and gradient-check both.
#include <fmt/core.h>

#include <autodiff/autodiff.hpp>
#include <cmath>
#include <nn/nn.hpp>
#include <vector>

using namespace tapegrad;

int main() {
  // 1. A scalar function and its gradient.
  {
    Tape tape;
    Var x = 1.5, y = -0.5;
    Var f = sin(x) * y + exp(x / y);
    f.backward();
    fmt::print("f(x, y) = sin(x)*y + exp(x/y) at (1.5, -0.5) = {:.10f}\n", f.value());
    fmt::print("  df/dx = {:.10f}   (by hand: y*cos(x) + exp(x/y)/y = {:.10f})\n", x.grad(),
               -0.5 * std::cos(1.5) + std::exp(-3.0) / -0.5);
    fmt::print("  df/dy = {:.10f}   (by hand: sin(x) - x*exp(x/y)/y^2 = {:.10f})\n", y.grad(),
               std::sin(1.5) - 1.5 * std::exp(-3.0) / 0.25);
  }
  const auto scalar_check =
      gradcheck([](std::span<const Var> v) -> Var { return sin(v[0]) * v[1] + exp(v[0] / v[1]); }, {1.5, -0.5});
  fmt::print("  gradcheck: {} (max |numeric - analytic| = {:.2e})\n\n", scalar_check ? "passed" : "FAILED",
             scalar_check.max_abs_error);

  // 2. A small model: a 2-32-3 MLP classifying three interleaved spiral arms.
  std::mt19937_64 rng(0);
  const int64_t per_class = 40, classes = 3, m = per_class * classes;
  Array points(Shape{m, 2});
  std::vector<int64_t> labels(static_cast<size_t>(m));
  std::normal_distribution<double> noise(0.0, 0.1);
  for (int64_t c = 0; c < classes; ++c)
    for (int64_t i = 0; i < per_class; ++i) {
      const int64_t k = c * per_class + i;
      const double r = double(i) / per_class, angle = 4.0 * r + 2.1 * double(c) + noise(rng);
      points.set(2 * k, r * std::sin(angle));
      points.set(2 * k + 1, r * std::cos(angle));
      labels[static_cast<size_t>(k)] = c;
    }
  Tensor x(points);
  Tensor w1 = Tensor::randn({2, 32}, rng, DType::f64, 1.0).requires_grad(true);
  Tensor b1 = Tensor::zeros({32}).requires_grad(true);
  Tensor w2 = Tensor::randn({32, 3}, rng, DType::f64, 0.2).requires_grad(true);
  Tensor b2 = Tensor::zeros({3}).requires_grad(true);
  std::vector<Tensor*> params{&w1, &b1, &w2, &b2};
  auto model = [&](const Tensor& in) { return matmul(tanh(matmul(in, w1) + b1), w2) + b2; };

  fmt::print("training a 2-32-3 MLP on {} spiral points (softmax cross-entropy, SGD):\n", m);
  Tape tape;
  for (int step = 0; step <= 2000; ++step) {
    tape.clear();
    for (Tensor* p : params) p->zero_grad();
    Tensor logits = model(x);
    Tensor loss = nn::cross_entropy(logits, labels, nn::Reduction::mean);
    loss.backward();
    for (Tensor* p : params) {
      Array& v = p->mutable_value();
      for (int64_t i = 0; i < v.numel(); ++i) v.set(i, v.at(i) - 0.5 * p->grad().at(i));
    }
    if (step % 400 == 0) {
      int64_t correct = 0;
      for (int64_t k = 0; k < m; ++k) {
        int64_t best = 0;
        for (int64_t c = 1; c < classes; ++c)
          if (logits.value().at(k * classes + c) > logits.value().at(k * classes + best)) best = c;
        correct += best == labels[static_cast<size_t>(k)];
      }
      fmt::print("  step {:4d}  loss {:.4f}  accuracy {:.1f}%\n", step, loss.item(),
                 100.0 * double(correct) / double(m));
    }
  }

  // 3. Gradient-check the model's loss with respect to every parameter. Random projections: instead
  //    of one central difference per parameter, compare the derivative along 16 random directions
  //    (numeric: (L(p + h d) - L(p - h d)) / 2h, analytic: grad . d), which catches any wrong entry.
  const auto model_check = gradcheck(
      [&](std::span<const Tensor> p) {
        return nn::cross_entropy(matmul(tanh(matmul(x, p[0]) + p[1]), p[2]) + p[3], labels, nn::Reduction::mean);
      },
      std::vector<Array>{w1.value(), b1.value(), w2.value(), b2.value()}, {.projections = 16});
  fmt::print("\nmodel gradcheck along 16 random directions: {} (max |numeric - analytic| = {:.2e})\n",
             model_check ? "passed" : "FAILED", model_check.max_abs_error);
  return scalar_check && model_check ? 0 : 1;
}
