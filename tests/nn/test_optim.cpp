#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/autodiff.hpp"
#include "nn/nn.hpp"
#include "nn/optim/sgd.hpp"
#include "support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;

namespace {
// L(w) = sum((x w - y)^2) / 2 with x [4, 2], w [2, 1]: a fixed small problem for optimizer tests.
struct Quadratic {
  Tensor x{Array(Shape{4, 2}, {1, 2, -1, 0.5, 0.3, -2, 2, 1})};
  Tensor y{Array(Shape{4, 1}, {1, -1, 0.5, 2})};
  Tensor loss(const Tensor& w) const { return sse_loss(matmul(x, w), y); }
  std::vector<double> grad_at(const std::vector<double>& wv) const {
    Tape tape;
    Tensor w(Array(Shape{2, 1}, wv), true);
    loss(w).backward();
    return w.grad().to_vector();
  }
};
}  // namespace

TEST_SUITE("optim") {
  TEST_CASE("plain SGD: w <- w - eta dL/dw (eq. 8-9)") {
    Quadratic q;
    Tensor w = Tensor(Array(Shape{2, 1}, {0.5, -0.5})).requires_grad(true);
    optim::SGD opt({w}, {.lr = 0.1});
    const auto g = q.grad_at({0.5, -0.5});
    Tape tape;
    q.loss(w).backward();
    opt.step();
    CHECK(w.value().at(0) == doctest::Approx(0.5 - 0.1 * g[0]).epsilon(1e-15));
    CHECK(w.value().at(1) == doctest::Approx(-0.5 - 0.1 * g[1]).epsilon(1e-15));
  }

  TEST_CASE("momentum: two steps follow eq. 26-27 literally, and PyTorch's form at a constant rate") {
    Quadratic q;
    const double eta = 0.05, alpha = 0.9;
    Tensor w = Tensor(Array(Shape{2, 1}, {0.5, -0.5})).requires_grad(true);
    optim::SGD opt({w}, {.lr = eta, .momentum = alpha});
    // By hand: Delta_1 = -eta g(w0); w1 = w0 + Delta_1; Delta_2 = alpha Delta_1 - eta g(w1); w2 = w1 + Delta_2.
    std::vector<double> w0{0.5, -0.5}, d1(2), w1(2), d2(2), w2(2);
    const auto g0 = q.grad_at(w0);
    for (int i = 0; i < 2; ++i) d1[i] = -eta * g0[i], w1[i] = w0[i] + d1[i];
    const auto g1 = q.grad_at(w1);
    for (int i = 0; i < 2; ++i) d2[i] = alpha * d1[i] - eta * g1[i], w2[i] = w1[i] + d2[i];
    // PyTorch: b_1 = g_1, b_t = mu b + g_t, p -= lr b.
    std::vector<double> b(g0), pt(w0);
    for (int i = 0; i < 2; ++i) pt[i] -= eta * b[i];
    const auto pg = q.grad_at(pt);
    for (int i = 0; i < 2; ++i) b[i] = alpha * b[i] + pg[i], pt[i] -= eta * b[i];

    Tape tape;
    for (int step = 0; step < 2; ++step) {
      tape.clear();
      opt.zero_grad();
      q.loss(w).backward();
      opt.step();
    }
    for (int i = 0; i < 2; ++i) {
      CHECK(w.value().at(i) == doctest::Approx(w2[i]).epsilon(1e-14));
      CHECK(w.value().at(i) == doctest::Approx(pt[i]).epsilon(1e-13));
      CHECK(opt.velocity(0).at(i) == doctest::Approx(d2[i]).epsilon(1e-14));
    }
  }

  TEST_CASE("a rate change: the seed keeps the old velocity, pytorch_lr_scaling rescales it") {
    Tensor w1 = Tensor(Array(Shape{1}, {1.0})).requires_grad(true),
           w2 = Tensor(Array(Shape{1}, {1.0})).requires_grad(true);
    optim::SGD seed({w1}, {.lr = 0.1, .momentum = 0.5});
    optim::SGD torch({w2}, {.lr = 0.1, .momentum = 0.5, .pytorch_lr_scaling = true});
    Tape tape;
    for (int step = 0; step < 3; ++step) {
      if (step == 2) {
        seed.set_lr(0.01);
        torch.set_lr(0.01);
      }
      tape.clear();
      seed.zero_grad();
      torch.zero_grad();
      sum(square(w1)).backward({.retain_graph = true});
      sum(square(w2)).backward();
      seed.step();
      torch.step();
    }
    // Both: w = 1 -> Delta1 = -0.2 -> w = 0.8 -> Delta2 = 0.5(-0.2) - 0.1(1.6) = -0.26 -> w = 0.54.
    // Step 3, g = 1.08. Seed: Delta3 = 0.5(-0.26) - 0.01(1.08) = -0.1408 -> w = 0.3992.
    // PyTorch: velocity rescaled to -0.026 first: Delta3 = -0.013 - 0.0108 = -0.0238 -> w = 0.5162.
    CHECK(w1.value().at(0) == doctest::Approx(0.3992).epsilon(1e-14));
    CHECK(w2.value().at(0) == doctest::Approx(0.5162).epsilon(1e-14));
  }

  TEST_CASE("a recorded update is differentiable: d loss-after-step / d eta matches finite differences") {
    Quadratic q;
    const std::vector<double> w0{0.5, -0.5};
    const auto g = q.grad_at(w0);
    const double eta0 = 0.05;
    auto loss_after = [&](double eta) {
      std::vector<double> w1(2);
      for (int i = 0; i < 2; ++i) w1[i] = w0[i] - eta * g[i];
      Tape tape;
      return q.loss(Tensor(Array(Shape{2, 1}, w1))).item();
    };
    Tape tape;
    Tensor w = Tensor(Array(Shape{2, 1}, w0)).requires_grad(true);
    Tensor eta = Tensor::full({}, eta0).requires_grad(true);
    q.loss(w).backward();
    Tensor gw(w.grad());
    tape.clear();
    Tensor after = q.loss(optim::sgd_update(w, gw, eta));
    after.backward();
    const double h = 1e-6, numeric = (loss_after(eta0 + h) - loss_after(eta0 - h)) / (2 * h);
    CHECK(eta.grad().item() == doctest::Approx(numeric).epsilon(1e-8));
    // and it equals -g(w1) . g(w0), which hypergradient descent uses
    std::vector<double> w1{w0[0] - eta0 * g[0], w0[1] - eta0 * g[1]};
    const auto g1 = q.grad_at(w1);
    CHECK(eta.grad().item() == doctest::Approx(-(g1[0] * g[0] + g1[1] * g[1])).epsilon(1e-12));
  }

  TEST_CASE("hypergradient descent moves the rate by beta g_t . g_(t-1)") {
    Quadratic q;
    Tensor w = Tensor(Array(Shape{2, 1}, {0.5, -0.5})).requires_grad(true);
    optim::SGD opt({w}, {.lr = 0.01, .hypergradient_lr = 0.001});
    Tape tape;
    std::vector<double> prev;
    for (int step = 0; step < 3; ++step) {
      tape.clear();
      opt.zero_grad();
      q.loss(w).backward();
      const auto g = w.grad().to_vector();
      const double before = opt.lr();
      opt.step();
      if (!prev.empty())
        CHECK(opt.lr() == doctest::Approx(before + 0.001 * (g[0] * prev[0] + g[1] * prev[1])).epsilon(1e-14));
      prev = g;
    }
  }

  TEST_CASE("invalid hyperparameters are refused") {
    Tensor w = Tensor::zeros({2}).requires_grad(true), data = Tensor::zeros({2});
    CHECK(test::contains(test::message_of<ValueError>([&] { optim::SGD({w}, {.lr = -0.1}); }), "learning rate"));
    CHECK_THROWS_AS(optim::SGD({w}, {.momentum = 1.0}), ValueError);
    CHECK_THROWS_AS(optim::SGD({data}, {}), ValueError);
  }

  TEST_CASE("schedules: step decay and cosine annealing") {
    CHECK(optim::step_lr(0.1, 0, 10, 0.5) == 0.1);
    CHECK(optim::step_lr(0.1, 25, 10, 0.5) == doctest::Approx(0.025));
    CHECK(optim::cosine_lr(0.1, 0, 100) == doctest::Approx(0.1));
    CHECK(optim::cosine_lr(0.1, 50, 100) == doctest::Approx(0.05));
    CHECK(optim::cosine_lr(0.1, 100, 100, 0.001) == doctest::Approx(0.001));
  }
}
