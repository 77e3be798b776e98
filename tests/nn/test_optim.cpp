#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/autodiff.hpp"
#include "autodiff/parallel.hpp"
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

// The first two steps of each optimizer on one parameter w0 = 1 with gradients g1 = 0.5, g2 = -1
// (the loss is g . w with g set per step), against the published update rules worked by hand.
namespace {
template <class Opt, class Options>
std::pair<double, double> two_steps(Options options) {
  Tensor w = Tensor::full({1}, 1.0).requires_grad(true);
  Opt opt({w}, options);
  double after[2];
  const double grads[2] = {0.5, -1.0};
  for (int s = 0; s < 2; ++s) {
    Tape tape;
    opt.zero_grad();
    Tensor loss = sum(w * grads[s]);
    loss.backward();
    opt.step();
    after[s] = w.value().at(0);
  }
  return {after[0], after[1]};
}
}  // namespace

TEST_SUITE("optimizers") {
  TEST_CASE("SGD: weight decay and Nesterov, worked by hand") {
    // decay 0.1: g1' = 0.5 + 0.1 = 0.6, w1 = 1 - 0.1 * 0.6 = 0.94; g2' = -1 + 0.094 = -0.906, w2 = 0.94 + 0.0906
    auto [a1, a2] = two_steps<optim::SGD>(optim::SGDOptions{.lr = 0.1, .weight_decay = 0.1});
    CHECK(a1 == doctest::Approx(0.94).epsilon(1e-14));
    CHECK(a2 == doctest::Approx(1.0306).epsilon(1e-14));
    // Nesterov, alpha 0.9: D1 = -0.05, w1 = 1 + 0.9 D1 - 0.05 = 0.905; D2 = -0.045 + 0.1 = 0.055,
    // w2 = 0.905 + 0.9 * 0.055 + 0.1 = 1.0545
    auto [n1, n2] = two_steps<optim::SGD>(optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
    CHECK(n1 == doctest::Approx(0.905).epsilon(1e-14));
    CHECK(n2 == doctest::Approx(1.0545).epsilon(1e-14));
  }

  TEST_CASE("SGD on a parameter long enough for the parallel update: every element follows eq. 8 / 26-27") {
    const int threads = num_threads();
    set_num_threads(2);  // the pool has a worker (capped at the core count, so 1 on a 1-core machine)
    const int64_t n = kStreamingThreshold + 12345;  // past the threshold, not a multiple of anything
    for (double momentum : {0.0, 0.9}) {
      CAPTURE(momentum);
      std::vector<double> w0(static_cast<size_t>(n)), g(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        w0[static_cast<size_t>(i)] = std::sin(0.001 * double(i));
        g[static_cast<size_t>(i)] = std::cos(0.003 * double(i)) + 0.25;
      }
      Tensor w(Array(Shape{n}, w0), true);
      optim::SGD opt({w}, {.lr = 0.1, .momentum = momentum});
      for (int step = 0; step < 2; ++step) {
        opt.zero_grad();
        std::copy(g.begin(), g.end(), w.mutable_grad().data<double>());
        opt.step();
      }
      // Two steps with the same gradient: plain, w - 2 eta g; momentum (seed form, D1 = -eta g,
      // D2 = alpha D1 - eta g), w + D1 + D2 = w - eta g (2 + alpha).
      const double factor = 0.1 * (2.0 + momentum);
      int64_t first_wrong = -1;
      for (int64_t i = 0; i < n && first_wrong < 0; ++i)
        if (std::abs(w.value().at(i) - (w0[static_cast<size_t>(i)] - factor * g[static_cast<size_t>(i)])) > 1e-12)
          first_wrong = i;
      CHECK(first_wrong == -1);
    }
    set_num_threads(threads);
  }

  TEST_CASE("Adam and AdamW: the first two steps") {
    // Adam lr 0.1: m1 = 0.05, v1 = 0.00025; mhat = 0.5, vhat = 0.25: w1 = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
    auto [a1, a2] = two_steps<optim::Adam>(optim::AdamOptions{.lr = 0.1});
    CHECK(a1 == doctest::Approx(1 - 0.1 * 0.5 / (0.5 + 1e-8)).epsilon(1e-12));
    // m2 = 0.045 - 0.1 = -0.055, v2 = 0.00024975 + 0.001 = 0.00124975
    const double m2 = 0.9 * 0.05 + 0.1 * -1.0, v2 = 0.999 * 0.00025 + 0.001 * 1.0;
    const double mhat = m2 / (1 - 0.81), vhat = v2 / (1 - 0.999 * 0.999);
    CHECK(a2 == doctest::Approx(a1 - 0.1 * mhat / (std::sqrt(vhat) + 1e-8)).epsilon(1e-12));
    // AdamW decay 0.5: w1 = 1 (1 - 0.1 * 0.5) - 0.1 * 0.5 / (0.5 + 1e-8)
    auto [w1, w2] = two_steps<optim::AdamW>(optim::AdamWOptions{.lr = 0.1, .weight_decay = 0.5});
    CHECK(w1 == doctest::Approx(0.95 - 0.1 * 0.5 / (0.5 + 1e-8)).epsilon(1e-12));
    CHECK(w2 == doctest::Approx(w1 * 0.95 - 0.1 * mhat / (std::sqrt(vhat) + 1e-8)).epsilon(1e-12));
  }

  TEST_CASE("RMSProp: the first two steps, with and without momentum") {
    // v1 = 0.01 * 0.25 = 0.0025, w1 = 1 - 0.01 * 0.5 / 0.05 = 0.9
    auto [r1, r2] = two_steps<optim::RMSProp>(optim::RMSPropOptions{.lr = 0.01});
    CHECK(r1 == doctest::Approx(1 - 0.01 * 0.5 / (0.05 + 1e-8)).epsilon(1e-12));
    const double v2 = 0.99 * 0.0025 + 0.01;
    CHECK(r2 == doctest::Approx(r1 + 0.01 / (std::sqrt(v2) + 1e-8)).epsilon(1e-12));
    auto [m1, m2] = two_steps<optim::RMSProp>(optim::RMSPropOptions{.lr = 0.01, .momentum = 0.5});
    const double b1 = 0.5 / (0.05 + 1e-8), b2 = 0.5 * b1 - 1.0 / (std::sqrt(v2) + 1e-8);
    CHECK(m1 == doctest::Approx(1 - 0.01 * b1).epsilon(1e-12));
    CHECK(m2 == doctest::Approx(m1 - 0.01 * b2).epsilon(1e-12));
  }

  TEST_CASE("invalid hyperparameters are refused, naming the parameter and its value") {
    Tensor w = Tensor::full({1}, 1.0).requires_grad(true);
    CHECK(test::contains(test::message_of<ValueError>([&] { optim::Adam({w}, {.beta1 = 1.5}); }),
                         "beta1 must be in [0, 1), got 1.5"));
    CHECK(test::contains(test::message_of<ValueError>([&] { optim::RMSProp({w}, {.eps = 0}); }), "eps"));
    CHECK(test::contains(test::message_of<ValueError>([&] { optim::AdamW({w}, {.lr = std::nan("")}); }), "lr"));
    CHECK(test::contains(test::message_of<ValueError>([&] { optim::SGD({w}, {.nesterov = true}); }), "nesterov"));
    CHECK(test::contains(test::message_of<ValueError>([&] { optim::SGD({w, w}, {}); }), "twice"));
    CHECK_THROWS_AS(optim::Adam({}, {}), ValueError);
  }

  TEST_CASE("parameter groups keep their own options; state round-trips") {
    Tensor a = Tensor::full({2}, 1.0).requires_grad(true), b = Tensor::full({2}, 1.0).requires_grad(true);
    optim::Adam opt({{{a}, {.lr = 0.1}}, {{b}, {.lr = 0.01}}});
    Tape tape;
    Tensor loss = sum(a + b);
    loss.backward();
    opt.step();
    CHECK(a.value().at(0) == doctest::Approx(0.9).epsilon(1e-6));
    CHECK(b.value().at(0) == doctest::Approx(0.99).epsilon(1e-6));
    const auto state = opt.state();
    CHECK(state.size() == 6);  // kind.Adam, exp_avg.0-1, exp_avg_sq.0-1, scalars
    CHECK(state.front().first == "kind.Adam");
    Tensor c = Tensor::full({2}, 1.0).requires_grad(true), d = Tensor::full({2}, 1.0).requires_grad(true);
    optim::Adam other({{{c}, {.lr = 0.5}}, {{d}, {.lr = 0.5}}});
    other.load_state(state);
    CHECK(other.lr(1) == 0.01);
    CHECK(other.steps() == 1);
    optim::SGD sgd({c}, {.lr = 0.1, .momentum = 0.9});
    CHECK(test::contains(test::message_of<ValueError>([&] { sgd.load_state(state); }), "the saved state is Adam's"));
    // AdamW keeps the same buffers as Adam: only the kind tells them apart (issue 20, item 17)
    optim::AdamW adamw({c, d}, {.lr = 0.5});
    CHECK(test::contains(test::message_of<ValueError>([&] { adamw.load_state(state); }),
                         "AdamW: the saved state is Adam's, not AdamW's"));
    auto no_kind = state;
    no_kind.erase(no_kind.begin());
    CHECK(test::contains(test::message_of<ValueError>([&] { other.load_state(no_kind); }),
                         "does not say which optimizer wrote it"));
  }

  TEST_CASE("step() needs no tape; a parameter converted after construction is reported") {
    Tensor w = Tensor::full({1}, 1.0).requires_grad(true);
    optim::SGD opt({w}, {.lr = 0.5});
    {
      Tape tape;
      Tensor loss = sum(w * 2.0);
      loss.backward();
    }
    opt.step();  // no active tape here
    CHECK(w.value().at(0) == doctest::Approx(0.0));
    Array f32(Shape{1}, {1.0}, DType::f32);
    w.mutable_value() = f32;
    CHECK(test::contains(test::message_of<ValueError>([&] { opt.step(); }), "make it after model.to()"));
  }

  TEST_CASE("schedules: step, cosine, warm-up") {
    CHECK(optim::step_lr(1.0, 5, 2, 0.5) == doctest::Approx(0.25));
    CHECK(optim::cosine_lr(1.0, 5, 10) == doctest::Approx(0.5));
    CHECK(optim::cosine_lr(1.0, 20, 10) == doctest::Approx(0.0));
    CHECK(optim::warmup_lr(1.0, 0, 4) == doctest::Approx(0.25));
    CHECK(optim::warmup_lr(1.0, 7, 4) == 1.0);
  }
}
