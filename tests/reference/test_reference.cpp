// The hand-derived references, in an executable that links tapegrad::nn_reference and nothing of the
// tape (tests/CMakeLists.txt): if a reference function reached into the tape, this would not link.
// Every reference entry point is called here, and checked against central differences.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "autodiff/error.hpp"
#include "nn/reference/backprop.hpp"
#include "nn/reference/mlp.hpp"
#include "support/random_dag.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;

namespace {

// The twin's mean cross-entropy at its current parameters (masks held fixed), for differences.
double twin_loss(reference::Mlp<double> mlp, const std::vector<double>& x, const std::vector<int64_t>& y) {
  return mlp.train_step(x, y);
}

/// Max |analytic - central difference| over every parameter of every layer.
double worst_gradient_gap(reference::Mlp<double>& mlp, const std::vector<double>& x, const std::vector<int64_t>& y) {
  mlp.train_step(x, y);
  const reference::Mlp<double> at = mlp;  // gradients of this point
  double worst = 0;
  for (size_t l = 0; l < mlp.layers().size(); ++l) {
    auto& layer = mlp.layers()[l];
    const auto& grads = at.layers()[l];
    std::vector<std::pair<std::vector<double>*, const std::vector<double>*>> parts{{&layer.weight, &grads.grad_weight},
                                                                                   {&layer.bias, &grads.grad_bias}};
    if (layer.spec.batch_norm) {
      parts.push_back({&layer.gamma, &grads.grad_gamma});
      parts.push_back({&layer.beta, &grads.grad_beta});
    }
    for (auto [values, grad] : parts)
      for (size_t i = 0; i < values->size(); ++i) {
        const double v = (*values)[i], h = 1e-6;
        (*values)[i] = v + h;
        const double up = twin_loss(mlp, x, y);
        (*values)[i] = v - h;
        const double down = twin_loss(mlp, x, y);
        (*values)[i] = v;
        worst = std::max(worst, std::abs((up - down) / (2 * h) - (*grad)[i]));
      }
  }
  return worst;
}

reference::Mlp<double> random_twin(std::vector<reference::MlpLayerSpec> specs, std::mt19937_64& rng) {
  reference::Mlp<double> mlp(std::move(specs));
  std::normal_distribution<double> normal(0.0, 0.5);
  for (auto& layer : mlp.layers())
    for (auto* part : {&layer.weight, &layer.bias, &layer.gamma, &layer.beta})
      for (double& v : *part) v = part == &layer.gamma ? 1.0 + 0.2 * normal(rng) : normal(rng);
  return mlp;
}

}  // namespace

TEST_CASE("reference MLP: gradients equal central differences (batch norm, dropout, DropConnect, activations)") {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  const int64_t m = 6;
  std::vector<double> x(static_cast<size_t>(m * 5));
  for (double& v : x) v = normal(rng);
  const std::vector<int64_t> y{0, 2, 1, 3, 3, 0};
  for (Activation act : {Activation::relu, Activation::tanh, Activation::sigmoid, Activation::softplus,
                         Activation::leaky_relu, Activation::identity}) {
    CAPTURE(activation_name(act));
    auto mlp = random_twin({{.in = 5, .out = 7, .activation = act, .batch_norm = true, .dropout = 0.3},
                            {.in = 7, .out = 6, .activation = act, .dropconnect_keep = 0.7},
                            {.in = 6, .out = 4}},
                           rng);
    std::vector<std::mt19937_64> generators{std::mt19937_64(1), std::mt19937_64(2)};
    mlp.draw_masks(m, generators);
    CHECK(worst_gradient_gap(mlp, x, y) < 1e-7);
  }
}

TEST_CASE("reference MLP: seed-mode batch norm holds the batch statistics fixed (eq. 21)") {
  std::mt19937_64 rng(4);
  auto full = random_twin({{.in = 3, .out = 4, .batch_norm = true}, {.in = 4, .out = 2}}, rng);
  reference::Mlp<double> seed({{.in = 3, .out = 4, .batch_norm = true}, {.in = 4, .out = 2}},
                              {.batch_norm_mode = BatchNormMode::seed});
  seed.layers() = full.layers();
  const std::vector<double> x{0.1, -1.0, 2.0, 0.5, 0.4, -0.3, 1.5, 0.2, 0.0, -0.7, 0.9, 1.1};
  const std::vector<int64_t> y{0, 1, 1, 0};
  CHECK(full.train_step(x, y) == seed.train_step(x, y));  // same forward pass
  const auto& f = full.layers()[0];
  const auto& s = seed.layers()[0];
  // Seed mode: dL/dpsi = gamma dL/dy / sigma. Full mode subtracts its projection on 1 and psihat,
  // so its column sums vanish (the bias below batch norm has zero gradient), the seed's do not.
  double full_bias = 0, seed_bias = 0;
  for (size_t j = 0; j < 4; ++j) {
    full_bias = std::max(full_bias, std::abs(f.grad_bias[j]));
    seed_bias = std::max(seed_bias, std::abs(s.grad_bias[j]));
  }
  CHECK(full_bias < 1e-12);
  CHECK(seed_bias > 1e-3);
  CHECK(f.grad_gamma == s.grad_gamma);  // eq. 22-23 do not depend on the mode
}

TEST_CASE("reference MLP: bad shapes and options are refused") {
  CHECK_THROWS_AS(reference::Mlp<float>({{.in = 3, .out = 4}, {.in = 5, .out = 2}}), ValueError);
  CHECK_THROWS_AS(reference::Mlp<float>({{.in = 3, .out = 4, .batch_norm = true}}), ValueError);
  CHECK_THROWS_AS(reference::Mlp<float>({{.in = 3, .out = 4, .dropout = 1.0}, {.in = 4, .out = 2}}), ValueError);
  CHECK_THROWS_AS(reference::Mlp<float>({{.in = 3, .out = 4}, {.in = 4, .out = 2}}, {.blas_threads = 0}), ValueError);
  reference::Mlp<float> mlp({{.in = 2, .out = 3, .dropout = 0.5}, {.in = 3, .out = 2}});
  const std::vector<float> x{1, 2, 3, 4};
  CHECK_THROWS_AS(mlp.train_step(x, std::vector<int64_t>{0, 1}), ValueError);  // no masks drawn
  std::vector<std::mt19937_64> generators(1);
  mlp.draw_masks(2, generators);
  CHECK_THROWS_AS(mlp.train_step(x, std::vector<int64_t>{0, 2}), ValueError);  // label out of range
  CHECK_THROWS_AS(mlp.train_step(x, std::vector<int64_t>{0}), ShapeError);
  CHECK(std::isfinite(mlp.train_step(x, std::vector<int64_t>{0, 1})));
}

TEST_CASE("reference backprop (seed networks): gradients equal central differences") {
  std::mt19937_64 rng(5);
  const Network net = test::random_dag(rng, {.batch_norm = true});
  Parameters p = net.parameters();
  const size_t m = 4;
  std::vector<double> x(m * net.num_inputs()), y(m * net.num_outputs());
  std::normal_distribution<double> normal;
  for (double& v : x) v = normal(rng);
  for (double& v : y) v = normal(rng);
  const auto res = reference::backprop(net, p, x, y, m, {});
  double worst = 0;
  for (size_t e = 0; e < p.w.size(); ++e) {
    const double v = p.w[e], h = 1e-6;
    p.w[e] = v + h;
    const double up = reference::backprop(net, p, x, y, m, {}).loss;
    p.w[e] = v - h;
    const double down = reference::backprop(net, p, x, y, m, {}).loss;
    p.w[e] = v;
    worst = std::max(worst, std::abs((up - down) / (2 * h) - res.grad.w[e]));
  }
  CHECK(worst < 1e-7);
}
