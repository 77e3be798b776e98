// Implicit SGD (seed section 5.1): the tests of shared/NOTES-seed.md c, which an explicit step
// cannot pass.
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/autodiff.hpp"
#include "nn/optim/implicit_sgd.hpp"
#include "nn/reference/backprop.hpp"
#include "nn/seed/implicit_step.hpp"
#include "support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;
using optim::ImplicitSGD;

namespace {

/// 0.5 sum_i (X theta - y)^2 on the tape, theta a leaf [n].
Tensor least_squares(const Tensor& theta, const std::vector<double>& rows, const std::vector<double>& y) {
  const auto m = static_cast<int64_t>(y.size()), n = theta.shape()[0];
  const Tensor x(Array(Shape{m, n}, rows)), t(Array(Shape{m, 1}, y));
  return sum(square(matmul(x, reshape(theta, {n, 1})) - t)) * 0.5;
}

std::vector<double> tape_implicit_step(const std::vector<double>& theta0, const std::vector<double>& rows,
                                       const std::vector<double>& y, double eta,
                                       optim::ImplicitStepReport* report = nullptr) {
  Tensor theta(Array(Shape{static_cast<int64_t>(theta0.size())}, theta0), true);
  ImplicitSGD opt({theta}, {.lr = eta});
  const auto r = opt.step([&] { return least_squares(theta, rows, y); });
  CHECK(r.converged);
  if (report) *report = r;
  return theta.value().to_vector();
}

/// A small smooth non-layered network: 0,1 -> 2 (tanh), 3 (sigmoid), 4 (softplus) -> 5 (identity).
Network smooth_net() {
  Network net;
  net.add_input(0);
  net.add_input(1);
  net.add_neuron({.id = 2, .activation = Activation::tanh, .beta = 0.1});
  net.add_neuron({.id = 3, .activation = Activation::sigmoid, .beta = -0.2});
  net.add_neuron({.id = 4, .activation = Activation::softplus, .beta = 0.05});
  net.add_neuron({.id = 5, .beta = 0.3});
  for (auto [a, b, w] : std::initializer_list<std::tuple<int, int, double>>{{0, 2, 0.8},
                                                                            {1, 2, -0.5},
                                                                            {0, 3, 0.4},
                                                                            {2, 3, 1.1},
                                                                            {1, 4, 0.7},
                                                                            {3, 4, -0.9},
                                                                            {2, 5, 1.2},
                                                                            {3, 5, -0.7},
                                                                            {4, 5, 0.6},
                                                                            {0, 5, 0.25}})
    net.add_arrow({a, b, w, {}});
  net.set_outputs({5});
  net.finalize();
  return net;
}
const std::vector<double> kX{0.5, -1.0, 1.5, 0.3, -0.7, 0.8, 0.2, 2.0}, kY{0.4, -0.3, 1.0, 0.1};

double loss_at(const Network& net, const Parameters& p) { return reference::backprop(net, p, kX, kY, 4, {}).loss; }
std::vector<double> flat(const Parameters& p) {
  std::vector<double> v = p.w;
  for (const auto* part : {&p.beta, &p.gamma, &p.theta}) v.insert(v.end(), part->begin(), part->end());
  return v;
}

/// One implicit step on the smooth network; returns (before, after) parameters.
std::pair<Parameters, Parameters> step_smooth(double eta, int max_inner = 100) {
  Tape tape;
  SeedModel model(smooth_net());
  const Parameters before = model.parameter_values();
  const auto report = optim::implicit_step(model, Array(Shape{4, 2}, kX), kY, LossKind::sse, Reduction::sum,
                                           {.lr = eta, .max_inner = max_inner});
  MESSAGE("eta " << eta << ": " << report.iterations << " inner iterations, residual " << report.residual);
  CHECK_MESSAGE(report.converged, "residual " << report.residual << " after " << report.iterations);
  return {before, model.parameter_values()};
}

}  // namespace

TEST_SUITE("implicit sgd") {
  TEST_CASE("T1: one example, with and without bias, matches the closed form to 1e-12") {
    // theta_n = theta - eta / (1 + eta ||x~||^2) (x~ . theta - y) x~, with x~ = [x; 1] when the bias trains.
    const double eta = 0.7, y = 0.9;
    for (const std::vector<double>& x :
         {std::vector<double>{0.5, -1.2, 2.0}, std::vector<double>{0.5, -1.2, 2.0, 1.0}}) {
      std::vector<double> theta0(x.size());
      for (size_t i = 0; i < x.size(); ++i) theta0[i] = 0.3 - 0.2 * double(i);
      double r0 = -y, norm2 = 0;
      for (size_t i = 0; i < x.size(); ++i) r0 += x[i] * theta0[i], norm2 += x[i] * x[i];
      const auto got = tape_implicit_step(theta0, x, {y}, eta);
      for (size_t i = 0; i < x.size(); ++i)
        CHECK(got[i] == doctest::Approx(theta0[i] - eta / (1 + eta * norm2) * r0 * x[i]).epsilon(1e-12));
    }
  }

  TEST_CASE("T2: the residual after the step is r0 / (1 + eta ||x~||^2)") {
    const std::vector<double> x{1.0, 2.0, -0.5, 1.0}, theta0{0.1, 0.2, 0.3, 0.0};
    const double y = 2.0, eta = 3.0;
    double r0 = -y, r1 = -y, norm2 = 0;
    const auto got = tape_implicit_step(theta0, x, {y}, eta);
    for (size_t i = 0; i < x.size(); ++i) r0 += x[i] * theta0[i], r1 += x[i] * got[i], norm2 += x[i] * x[i];
    CHECK(r1 == doctest::Approx(r0 / (1 + eta * norm2)).epsilon(1e-11));
    // an explicit step leaves (1 - eta ||x||^2) r0 instead
    CHECK(std::abs((1 - eta * norm2) * r0 - r1) > 1.0);
  }

  TEST_CASE("T3: a minibatch solves (I + eta X^T X) theta_n = theta + eta X^T y") {
    const std::vector<double> rows{1, 0.5, 1, -0.3, 2.0, 1, 0.8, -1.1, 1, 1.5, 0.2, 1}, y{0.5, -1.0, 0.3, 2.0};
    const std::vector<double> theta0{0.2, -0.1, 0.05};
    for (double eta : {0.01, 0.5, 20.0}) {
      const auto got = tape_implicit_step(theta0, rows, y, eta);
      const auto want = optim::implicit_least_squares_step(theta0, rows, y, eta);
      for (size_t i = 0; i < 3; ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-10));
    }
  }

  TEST_CASE("T4: stable at eta = 1e3 where explicit SGD diverges; converges at eta = 1e6") {
    // A consistent system y = x . theta* through a single linear seed neuron (the closed-form path).
    Network net;
    net.add_input(0);
    net.add_input(1);
    net.add_neuron({.id = 2});
    net.add_arrow({0, 2, 0.0, {}});
    net.add_arrow({1, 2, 0.0, {}});
    net.set_outputs({2});
    const std::vector<double> xs{1.0, 0.0, 0.0, 1.0, -1.0, 0.5, 0.5, -1.0};
    const double star[3] = {0.5, -0.25, 0.1};  // w0, w1, beta
    std::vector<double> ys;
    for (size_t i = 0; i < 4; ++i) ys.push_back(star[0] * xs[2 * i] + star[1] * xs[2 * i + 1] + star[2]);
    for (double eta : {1e3, 1e6}) {
      Tape tape;
      SeedModel model(net);
      const int steps = eta == 1e3 ? 8 : 40;  // 8 steps, or 10 epochs of 4 examples
      double explicit_w[3] = {0, 0, 0};
      for (int s = 0; s < steps; ++s) {
        const size_t i = static_cast<size_t>(s) % 4;
        const std::vector<double> xi{xs[2 * i], xs[2 * i + 1]}, yi{ys[i]};
        const auto report =
            optim::implicit_step(model, Array(Shape{1, 2}, xi), yi, LossKind::sse, Reduction::sum, {.lr = eta});
        CHECK(report.converged);
        const double r = explicit_w[0] * xi[0] + explicit_w[1] * xi[1] + explicit_w[2] - yi[0];
        explicit_w[0] -= eta * r * xi[0], explicit_w[1] -= eta * r * xi[1], explicit_w[2] -= eta * r;
      }
      const auto p = model.parameter_values();
      const double theta[3] = {p.w[model.network().edge_of(0, 2)], p.w[model.network().edge_of(1, 2)], p.beta[2]};
      const double norm = std::sqrt(theta[0] * theta[0] + theta[1] * theta[1] + theta[2] * theta[2]);
      if (eta == 1e3) {
        CHECK(norm < 1.0);
        CHECK(std::abs(explicit_w[0]) + std::abs(explicit_w[1]) > 1e12);  // explicit SGD blows up (7e15 here)
      } else {
        for (int j = 0; j < 3; ++j) CHECK(std::abs(theta[j] - star[j]) < 1e-5);
        const bool explicit_overflows = !std::isfinite(explicit_w[0]) || std::abs(explicit_w[0]) > 1e20;
        CHECK(explicit_overflows);
      }
    }
  }

  TEST_CASE("T5: fixed-point certificate on a nonlinear network") {
    const double eta = 0.5;
    const auto [before, after] = step_smooth(eta);
    const Network net = smooth_net();
    const auto fresh = reference::backprop(net, after, kX, kY, 4, {});  // a fresh gradient at theta_n
    const auto a = flat(after), b = flat(before), g = flat(fresh.grad);
    double certificate = 0;
    for (size_t i = 0; i < a.size(); ++i) certificate = std::max(certificate, std::abs(a[i] - b[i] + eta * g[i]));
    CHECK(certificate <= 1e-10);
    // the explicit step misses the implicit equation by O(eta^2)
    const auto g0 = flat(reference::backprop(net, before, kX, kY, 4, {}).grad);
    Parameters explicit_p = before;
    for (size_t e = 0; e < explicit_p.w.size(); ++e) explicit_p.w[e] -= eta * g0[e];
    for (size_t u = 0; u < explicit_p.beta.size(); ++u) explicit_p.beta[u] -= eta * g0[explicit_p.w.size() + u];
    const auto ge = flat(reference::backprop(net, explicit_p, kX, kY, 4, {}).grad);
    const auto pe = flat(explicit_p);
    double miss = 0;
    for (size_t i = 0; i < pe.size(); ++i) miss = std::max(miss, std::abs(pe[i] - b[i] + eta * ge[i]));
    CHECK(miss > 1e-4);
  }

  TEST_CASE("T6: the gap to explicit SGD is O(eta^2)") {
    const Network net = smooth_net();
    auto gap = [&](double eta) {
      const auto [before, after] = step_smooth(eta);
      const auto g0 = flat(reference::backprop(net, before, kX, kY, 4, {}).grad);
      const auto a = flat(after), b = flat(before);
      double d = 0;
      for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - (b[i] - eta * g0[i])));
      return d;
    };
    const double g1 = gap(0.02), g2 = gap(0.01), g3 = gap(0.005);
    CHECK(g1 / g2 == doctest::Approx(4.0).epsilon(0.15));
    CHECK(g2 / g3 == doctest::Approx(4.0).epsilon(0.15));
  }

  TEST_CASE("T7: descent for any eta: L(theta_n) <= L(theta_n-1) - ||theta_n - theta_n-1||^2 / (2 eta)") {
    const Network net = smooth_net();
    for (double eta : {0.1, 1.0, 10.0, 100.0}) {
      CAPTURE(eta);
      const auto [before, after] = step_smooth(eta, 1000);
      const auto a = flat(after), b = flat(before);
      double d2 = 0;
      for (size_t i = 0; i < a.size(); ++i) d2 += (a[i] - b[i]) * (a[i] - b[i]);
      CHECK(loss_at(net, after) <= loss_at(net, before) - d2 / (2 * eta) + 1e-12);
    }
  }

  TEST_CASE("implicit SGD refuses seed-mode batch norm and reports non-convergence honestly") {
    Network net = smooth_net();
    Network bn;
    bn.add_input(0);
    bn.add_neuron({.id = 1, .activation = Activation::tanh, .batch_norm = true});
    bn.add_neuron({.id = 2});
    bn.add_arrow({0, 1, 1.0, {}});
    bn.add_arrow({1, 2, 1.0, {}});
    bn.set_outputs({2});
    bn.batch_norm_mode = BatchNormMode::seed;
    Tape tape;
    SeedModel model(bn);
    const std::vector<double> x{0.1, 0.5, -0.3}, y{0.0, 1.0, 0.5};
    CHECK(test::contains(
        test::message_of<ValueError>([&] {
          optim::implicit_step(model, Array(Shape{3, 1}, x), y, LossKind::sse, Reduction::sum, {.lr = 0.1});
        }),
        "seed-mode batch norm"));
    SeedModel smooth(net);
    const auto report = optim::implicit_step(smooth, Array(Shape{4, 2}, kX), kY, LossKind::sse, Reduction::sum,
                                             {.lr = 50.0, .max_inner = 1});
    CHECK_FALSE(report.converged);
    CHECK(report.residual > 0);
  }
}

TEST_CASE("implicit sgd: the GLM 1-D root satisfies the implicit equation and matches the tape solver") {
  // Logistic loss l(u; y) = log(1 + e^u) - y u: l' = sigmoid(u) - y, l'' = s (1 - s).
  const std::vector<double> x{0.8, -1.5, 1.0}, theta0{0.3, 0.4, -0.2};
  const double y = 1.0;
  auto s = [](double u) { return 1.0 / (1.0 + std::exp(-u)); };
  for (double eta : {0.1, 5.0, 1e4}) {
    CAPTURE(eta);
    const auto next = optim::implicit_glm_step(
        theta0, x, eta, [&](double u) { return s(u) - y; }, [&](double u) { return s(u) * (1 - s(u)); });
    double u = 0;
    for (size_t i = 0; i < 3; ++i) u += x[i] * next[i];
    for (size_t i = 0; i < 3; ++i)
      CHECK(next[i] == doctest::Approx(theta0[i] - eta * (s(u) - y) * x[i]).epsilon(1e-12));
    Tensor theta(Array(Shape{3}, theta0), true);
    ImplicitSGD opt({theta}, {.lr = eta, .max_inner = 500});
    const Tensor xt(Array(Shape{3}, x));
    const auto report = opt.step([&] {
      const Tensor z = sum(xt * theta);
      return softplus(z) - z * y;
    });
    CHECK(report.converged);
    for (size_t i = 0; i < 3; ++i) CHECK(theta.value().at(int64_t(i)) == doctest::Approx(next[i]).epsilon(1e-9));
  }
}

// Issue 9, items 4, 14, 15: large rates, validation, honest reports.
namespace {
const std::vector<double> kTheta{0.1, 0.2, -0.4}, kRow{0.3, -1.7, 0.9};

/// One SSE neuron without bias: w over the inputs 0..2 (the closed-form path of implicit_step).
Network linear_neuron(const std::vector<double>& w) {
  Network net;
  for (int i = 0; i < 3; ++i) net.add_input(i);
  net.add_neuron({.id = 3});
  for (int i = 0; i < 3; ++i) net.add_arrow({i, 3, w[static_cast<size_t>(i)], {}});
  net.set_outputs({3});
  net.finalize();
  return net;
}
}  // namespace

TEST_CASE("implicit sgd: least squares at eta 1e6 to 1e9 stays accurate to rounding (residual form)") {
  // Exact values, from rational arithmetic (given in issue 9, item 14).
  const std::vector<double> exact{0.19261211276725257, -0.32480197234776453, -0.12216366169824229};
  const auto got = optim::implicit_least_squares_step(kTheta, kRow, std::vector<double>{0.5}, 1e6);
  for (size_t i = 0; i < 3; ++i) CHECK(got[i] == doctest::Approx(exact[i]).epsilon(1e-14));
  for (double eta : {1e3, 1e6, 1e9}) {  // the one-example formula, in long double
    long double r = -0.5L, s = 0;
    for (size_t i = 0; i < 3; ++i) {
      r += static_cast<long double>(kRow[i]) * kTheta[i];
      s += static_cast<long double>(kRow[i]) * kRow[i];
    }
    const auto step = optim::implicit_least_squares_step(kTheta, kRow, std::vector<double>{0.5}, eta);
    for (size_t i = 0; i < 3; ++i) {
      const auto want = static_cast<double>(kTheta[i] - eta / (1 + eta * s) * r * kRow[i]);
      CHECK(step[i] == doctest::Approx(want).epsilon(1e-14));
    }
  }
  // More rows than parameters takes the n x n residual system. On a consistent system with
  // solution (1, 2) a step at eta = 1e9 lands within O(1/eta) of it; at eta = 1 it is the tape's.
  const std::vector<double> rows{1, 0, 0, 1, 1, 1, 2, -1}, y{1, 2, 3, 0};
  const auto tall = optim::implicit_least_squares_step(std::vector<double>{0.5, -0.5}, rows, y, 1e9);
  CHECK(tall[0] == doctest::Approx(1.0).epsilon(1e-8));
  CHECK(tall[1] == doctest::Approx(2.0).epsilon(1e-8));
  const auto small = optim::implicit_least_squares_step(std::vector<double>{0.5, -0.5}, rows, y, 1.0);
  const auto direct = tape_implicit_step({0.5, -0.5}, rows, y, 1.0);
  for (size_t i = 0; i < 2; ++i) CHECK(small[i] == doctest::Approx(direct[i]).epsilon(1e-10));
}

TEST_CASE("implicit sgd: a consistent stream at eta 1e6 reports converged and matches the closed form") {
  double dot = 0;
  for (size_t i = 0; i < 3; ++i) dot += kRow[i] * kTheta[i];
  const std::vector<double> y{dot - 1e-4};
  optim::ImplicitStepReport report;
  const auto tape = tape_implicit_step(kTheta, kRow, y, 1e6, &report);  // CHECKs converged
  const auto closed = optim::implicit_least_squares_step(kTheta, kRow, y, 1e6);
  for (size_t i = 0; i < 3; ++i) CHECK(tape[i] == doctest::Approx(closed[i]).epsilon(1e-9));
  CHECK(report.iterations < 100);
}

TEST_CASE("implicit sgd: the closed-form path validates like the solver and reports honestly") {
  Tape tape;
  SeedModel model(linear_neuron(kTheta));
  const std::vector<double> y{0.5};
  auto step = [&](const Array& x, std::span<const double> targets, double lr) {
    return optim::implicit_step(model, x, targets, LossKind::sse, Reduction::sum, {.lr = lr});
  };
  const Array x(Shape{1, 3}, kRow);
  CHECK(test::contains(test::message_of<ShapeError>([&] {
                         step(Array(Shape{1, 2}, {0.3, 1.0}), y, 0.1);
                       }),
                       "x must be [batch, 3] for this network, got [1, 2]"));
  CHECK(test::contains(test::message_of<ShapeError>([&] {
                         step(x, std::vector<double>{0.5, 1.0}, 0.1);
                       }),
                       "2 targets for a batch of 1"));
  for (double bad : {double(NAN), -1.0, 0.0, double(INFINITY)})
    CHECK(test::contains(test::message_of<ValueError>([&] { step(x, y, bad); }), "learning rate must be positive"));
  CHECK(model.w.value().to_vector() == kTheta);  // nothing changed by a refused step
  const auto good = step(x, y, 1e6);
  CHECK(good.converged);
  const std::vector<double> nan_target{NAN};
  CHECK_FALSE(step(x, nan_target, 0.1).converged);  // garbage in is reported, not called converged
  CHECK(test::contains(test::message_of<ValueError>([] { ImplicitSGD({}, {.lr = 0.1, .tol_abs = -1}); }),
                       "tolerances must be non-negative"));
}

// Issue 21: Newton-CG on exact Hessian-vector products beside L-BFGS: the same answers, and what
// each costs (gradient-equivalents: gradients + 2 per Hessian-vector product, bench_hvp's ratio).
TEST_CASE("implicit sgd: Newton-CG and L-BFGS reach the same points; their costs") {
  using optim::ImplicitSolver;
  const auto cost = [](const optim::ImplicitStepReport& r) { return r.gradients + 2 * r.hessian_vector_products; };
  const auto report_line = [&](const char* problem, double eta, const optim::ImplicitStepReport& lbfgs,
                               const optim::ImplicitStepReport& newton) {
    MESSAGE(std::string(problem) << " eta " << eta << ": L-BFGS " << lbfgs.iterations << " iterations, " << cost(lbfgs)
                                 << " gradient-equivalents; Newton-CG " << newton.iterations << " iterations, "
                                 << newton.hessian_vector_products << " Hessian-vector products, " << cost(newton)
                                 << " gradient-equivalents");
  };
  // Least squares: the closed form is the oracle.
  const std::vector<double> rows{1, 0.5, 1, -0.3, 2.0, 1, 0.8, -1.1, 1, 1.5, 0.2, 1}, y{0.5, -1.0, 0.3, 2.0};
  const std::vector<double> theta0{0.2, -0.1, 0.05};
  for (double eta : {0.01, 0.5, 20.0, 1e3}) {
    CAPTURE(eta);
    const auto want = optim::implicit_least_squares_step(theta0, rows, y, eta);
    optim::ImplicitStepReport reports[2];
    for (ImplicitSolver solver : {ImplicitSolver::lbfgs, ImplicitSolver::newton_cg}) {
      Tensor theta(Array(Shape{3}, theta0), true);
      ImplicitSGD opt({theta}, {.lr = eta, .solver = solver});
      const auto r = opt.step([&] { return least_squares(theta, rows, y); });
      CHECK(r.converged);
      for (size_t i = 0; i < 3; ++i) CHECK(theta.value().at(int64_t(i)) == doctest::Approx(want[i]).epsilon(1e-9));
      reports[solver == ImplicitSolver::newton_cg] = r;
    }
    CHECK(reports[1].hessian_vector_products > 0);
    CHECK(reports[0].hessian_vector_products == 0);
    report_line("least squares", eta, reports[0], reports[1]);
  }
  // Logistic regression: the 1-D root is the oracle.
  const std::vector<double> x{0.8, -1.5, 1.0}, start{0.3, 0.4, -0.2};
  auto s = [](double u) { return 1.0 / (1.0 + std::exp(-u)); };
  for (double eta : {0.1, 5.0, 1e4}) {
    CAPTURE(eta);
    const auto want = optim::implicit_glm_step(
        start, x, eta, [&](double u) { return s(u) - 1.0; }, [&](double u) { return s(u) * (1 - s(u)); });
    optim::ImplicitStepReport reports[2];
    for (ImplicitSolver solver : {ImplicitSolver::lbfgs, ImplicitSolver::newton_cg}) {
      Tensor theta(Array(Shape{3}, start), true);
      ImplicitSGD opt({theta}, {.lr = eta, .max_inner = 500, .solver = solver});
      const Tensor xt(Array(Shape{3}, x));
      const auto r = opt.step([&] {
        const Tensor z = sum(xt * theta);
        return softplus(z) - z;
      });
      CHECK(r.converged);
      for (size_t i = 0; i < 3; ++i) CHECK(theta.value().at(int64_t(i)) == doctest::Approx(want[i]).epsilon(1e-9));
      reports[solver == ImplicitSolver::newton_cg] = r;
    }
    report_line("logistic", eta, reports[0], reports[1]);
  }
  // The smooth seed network: both solvers' points satisfy the implicit equation to 1e-10.
  for (double eta : {0.5, 10.0}) {
    CAPTURE(eta);
    optim::ImplicitStepReport reports[2];
    std::vector<double> points[2];
    for (ImplicitSolver solver : {ImplicitSolver::lbfgs, ImplicitSolver::newton_cg}) {
      Tape tape;
      SeedModel model(smooth_net());
      const auto r = optim::implicit_step(model, Array(Shape{4, 2}, kX), kY, LossKind::sse, Reduction::sum,
                                          {.lr = eta, .solver = solver});
      CHECK(r.converged);
      reports[solver == ImplicitSolver::newton_cg] = r;
      points[solver == ImplicitSolver::newton_cg] = flat(model.parameter_values());
    }
    for (size_t i = 0; i < points[0].size(); ++i) CHECK(points[1][i] == doctest::Approx(points[0][i]).epsilon(1e-8));
    report_line("smooth seed network", eta, reports[0], reports[1]);
  }
}
