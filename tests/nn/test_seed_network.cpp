// The seed network three ways: the tape model, the closed-form reference (nn/reference) and
// central differences of the reference's loss, on thousands of random DAGs.
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/autodiff.hpp"
#include "nn/gradcheck.hpp"
#include "nn/higher_order.hpp"
#include "nn/reference/backprop.hpp"
#include "nn/seed/seed_model.hpp"
#include "support/check.hpp"
#include "support/random_dag.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;

namespace {

bool agree(double a, double b, double rel) {
  return std::abs(a - b) <= rel * std::max({1.0, std::abs(a), std::abs(b)});
}

struct Case {
  Network net;
  size_t m = 1;
  std::vector<double> x, targets, mask;
  reference::Options options;
};

Case random_case(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> normal;
  test::DagOptions opts{unit(rng) < 0.4, unit(rng) < 0.4};
  Case c;
  c.net = test::random_dag(rng, opts);
  c.net.batch_norm_mode = unit(rng) < 0.5 ? BatchNormMode::full : BatchNormMode::seed;
  bool has_bn = false;
  for (const auto& u : c.net.units()) has_bn = has_bn || u.batch_norm;
  c.m = static_cast<size_t>(std::uniform_int_distribution<int>(has_bn ? 2 : 1, 16)(rng));
  const size_t n_in = c.net.num_inputs(), n_out = c.net.num_outputs(), E = c.net.edges().size();
  for (size_t i = 0; i < c.m * n_in; ++i) c.x.push_back(normal(rng));
  c.options.loss = unit(rng) < 0.5 || n_out < 2 ? LossKind::sse : LossKind::cross_entropy;
  c.options.reduction = unit(rng) < 0.3 ? Reduction::mean : Reduction::sum;
  if (c.options.loss == LossKind::sse)
    for (size_t i = 0; i < c.m * n_out; ++i) c.targets.push_back(normal(rng));
  else
    for (size_t i = 0; i < c.m; ++i)
      c.targets.push_back(double(std::uniform_int_distribution<size_t>(0, n_out - 1)(rng)));
  if (opts.dropout) {
    const size_t rows = unit(rng) < 0.5 ? 1 : c.m;
    for (size_t i = 0; i < rows; ++i)
      for (size_t e = 0; e < E; ++e) c.mask.push_back(unit(rng) < c.net.edges()[e].keep ? 1.0 : 0.0);
  }
  c.options.mask = c.mask;
  return c;
}

/// input 10 -> sigmoid 20 (w 0.5, beta -1) -> identity output 30 (w 3, beta 0.25).
Network hand_worked_network() {
  Network net;
  net.add_input(10);
  net.add_neuron({.id = 20, .activation = Activation::sigmoid, .beta = -1.0});
  net.add_neuron({.id = 30, .activation = Activation::identity, .beta = 0.25});
  net.add_arrow({20, 30, 3.0, {}});
  net.add_arrow({10, 20, 0.5, {}});
  net.set_outputs({30});
  net.finalize();
  return net;
}

/// relu/leaky_relu pre-activations within 1e-3 of the kink make finite differences meaningless.
bool near_kink(const Case& c, const reference::Result& r) {
  const auto& units = c.net.units();
  for (size_t k = c.net.num_inputs(); k < units.size(); ++k)
    if (units[k].activation == Activation::relu || units[k].activation == Activation::leaky_relu)
      for (size_t i = 0; i < c.m; ++i)
        if (std::abs(r.psihat[k * c.m + i]) < 1e-3) return true;
  return false;
}

double reference_loss(const Case& c, const Parameters& p) {
  return reference::backprop(c.net, p, c.x, c.targets, c.m, c.options).loss;
}

}  // namespace

TEST_SUITE("seed network") {
  TEST_CASE("tape, closed form and central differences agree on 2000 random DAGs") {
    std::mt19937_64 rng(2024);
    int compared = 0, fd_checked = 0, skipped = 0;
    for (int trial = 0; trial < 2000; ++trial) {
      Case c = random_case(rng);
      const Parameters p = c.net.parameters();
      const auto ref = reference::backprop(c.net, p, c.x, c.targets, c.m, c.options);
      if (near_kink(c, ref)) {
        ++skipped;
        continue;
      }
      CAPTURE(trial);
      Tape tape;
      SeedModel model(c.net);
      model.set_mask(c.mask);
      const Array x(Shape{static_cast<int64_t>(c.m), static_cast<int64_t>(c.net.num_inputs())}, c.x);
      const auto out = model.forward(x);
      Tensor loss = model.loss(out.z, c.targets, c.options.loss, c.options.reduction);
      loss.backward();
      ++compared;

      REQUIRE(agree(loss.item(), ref.loss, 1e-10));
      const size_t U = c.net.units().size();
      for (size_t k = c.net.num_inputs(); k < U; ++k)
        for (size_t i = 0; i < c.m; ++i) {
          const auto ki = static_cast<int64_t>(i);
          REQUIRE(agree(out.psi[k].value().at(ki), ref.psi[k * c.m + i], 1e-10));
          REQUIRE(agree(out.psi[k].grad().at(ki), ref.lambda[k * c.m + i], 1e-10));  // lambda_k,i
        }
      const Parameters g{model.w.grad().to_vector(), model.beta.grad().to_vector(), model.gamma.grad().to_vector(),
                         model.theta.grad().to_vector()};
      for (size_t e = 0; e < g.w.size(); ++e) REQUIRE(agree(g.w[e], ref.grad.w[e], 1e-10));
      for (size_t u = 0; u < U; ++u) {
        REQUIRE(agree(g.beta[u], ref.grad.beta[u], 1e-10));
        REQUIRE(agree(g.gamma[u], ref.grad.gamma[u], 1e-10));
        REQUIRE(agree(g.theta[u], ref.grad.theta[u], 1e-10));
      }

      // Central differences of the loss: a true gradient only without seed-mode batch norm.
      bool seed_bn = false;
      for (const auto& u : c.net.units())
        seed_bn = seed_bn || (u.batch_norm && c.net.batch_norm_mode == BatchNormMode::seed);
      if (seed_bn) continue;
      ++fd_checked;
      auto check_fd = [&](std::vector<double> Parameters::*field, const std::vector<double>& analytic) {
        Parameters q = p;
        for (size_t j = 0; j < analytic.size(); ++j) {
          const double v = (p.*field)[j], h = 1e-6 * std::max(1.0, std::abs(v));
          (q.*field)[j] = v + h;
          const double up = reference_loss(c, q);
          (q.*field)[j] = v - h;
          const double down = reference_loss(c, q);
          (q.*field)[j] = v;
          const double numeric = (up - down) / (2 * h);
          CAPTURE(j);
          REQUIRE(std::abs(numeric - analytic[j]) <= 1e-6 + 1e-5 * std::abs(numeric));
        }
      };
      check_fd(&Parameters::w, g.w);
      check_fd(&Parameters::beta, g.beta);
      check_fd(&Parameters::gamma, g.gamma);
      check_fd(&Parameters::theta, g.theta);
    }
    MESSAGE("compared " << compared << " DAGs, " << fd_checked << " also by central differences, " << skipped
                        << " skipped near a relu kink");
    CHECK(compared >= 1900);
    CHECK(fd_checked >= 1000);
  }

  TEST_CASE("second derivatives of random DAGs (nn::gradgradcheck); seed-mode batch norm refused") {
    std::mt19937_64 rng(77);
    int checked = 0, refused = 0;
    for (int trial = 0; trial < 60; ++trial) {
      Case c = random_case(rng);
      const Parameters p = c.net.parameters();
      if (near_kink(c, reference::backprop(c.net, p, c.x, c.targets, c.m, c.options))) continue;
      CAPTURE(trial);
      SeedModel model(c.net);
      const Array x(Shape{static_cast<int64_t>(c.m), static_cast<int64_t>(c.net.num_inputs())}, c.x);
      const auto loss = [&] {
        model.set_mask(c.mask);
        return model.loss(model.forward(x).z, c.targets, c.options.loss, c.options.reduction);
      };
      bool seed_bn = false;
      for (const auto& u : c.net.units())
        seed_bn = seed_bn || (u.batch_norm && c.net.batch_norm_mode == BatchNormMode::seed);
      if (seed_bn) {
        std::vector<Array> directions;
        for (const Tensor& t : model.parameters()) directions.emplace_back(t.shape());
        CHECK(test::contains(test::message_of<TapeError>([&] { nn::hvp(model, loss, directions); }), "seed mode"));
        ++refused;
        continue;
      }
      CHECK_GRADCHECK(nn::gradgradcheck(model, loss, {.atol = 1e-6, .rtol = 1e-5, .projections = 3}));
      ++checked;
    }
    MESSAGE(checked << " DAGs checked to second order, " << refused << " seed-mode ones refused");
    CHECK(checked >= 20);
    CHECK(refused >= 1);
  }

  TEST_CASE("second derivatives through a neuron's psi read by the loss (the fused op's second output)") {
    const Network net = hand_worked_network();
    const size_t k = net.unit_of(20);
    SeedModel model(net);
    const std::vector<double> y{1.0, 0.3};
    const auto loss = [&] {
      const auto& out = model.forward(Array(Shape{2, 1}, {2.0, -0.5}));
      return model.loss(out.z, y, LossKind::sse) + sum(square(out.psi[k])) * 0.7;
    };
    CHECK_GRADCHECK(nn::gradgradcheck(model, loss));
  }

  TEST_CASE("seed-mode batch norm moves beta although the training forward pass ignores it") {
    // NOTES b.1: under full BN dL/dbeta_k = sum_i lambda_i = 0; under the seed's rule it is not.
    Network net;
    net.add_input(0);
    net.add_neuron(
        {.id = 1, .activation = Activation::tanh, .beta = 0.3, .batch_norm = true, .gamma = 1.5, .theta = 0.2});
    net.add_neuron({.id = 2, .activation = Activation::identity});
    net.add_arrow({0, 1, 0.8, {}});
    net.add_arrow({1, 2, -1.1, {}});
    net.set_outputs({2});
    net.finalize();
    const std::vector<double> x{0.5, -1.0, 2.0}, y{1.0, 0.0, -1.0};
    const uint32_t k = net.unit_of(1);
    net.batch_norm_mode = BatchNormMode::full;
    const auto full = reference::backprop(net, net.parameters(), x, y, 3, {});
    CHECK(std::abs(full.grad.beta[k]) < 1e-15);
    net.batch_norm_mode = BatchNormMode::seed;
    const auto seed = reference::backprop(net, net.parameters(), x, y, 3, {});
    CHECK(std::abs(seed.grad.beta[k]) > 1e-3);
    CHECK(seed.grad.gamma[k] == doctest::Approx(full.grad.gamma[k]).epsilon(1e-12));  // eq. 22-25 agree
    CHECK(seed.grad.theta[k] == doctest::Approx(full.grad.theta[k]).epsilon(1e-12));
  }

  TEST_CASE("a hand-worked network: input -> sigmoid -> identity output, sse") {
    // x = 2, w1 = 0.5, beta1 = -1: psi1 = 0, o1 = sigmoid(0) = 0.5.
    // w2 = 3, beta2 = 0.25: z = psi2 = 1.75. y = 1: L = 0.5 (0.75)^2 = 0.28125.
    // lambda2 = z - y = 0.75 (eq. 5, identity output); dL/dw2 = lambda2 o1 = 0.375 (eq. 2).
    // lambda1 = sigma'(0) w2 lambda2 = 0.25 * 3 * 0.75 = 0.5625 (eq. 4); dL/dw1 = lambda1 x = 1.125.
    const Network net = hand_worked_network();
    Tape tape;
    SeedModel model(net);
    const auto out = model.forward(Array(Shape{1, 1}, {2.0}));
    const std::vector<double> y{1.0};
    Tensor loss = model.loss(out.z, y, LossKind::sse);
    loss.backward();
    CHECK(loss.item() == doctest::Approx(0.28125).epsilon(1e-15));
    CHECK(out.psi[net.unit_of(30)].grad().item() == doctest::Approx(0.75));
    CHECK(out.psi[net.unit_of(20)].grad().item() == doctest::Approx(0.5625));
    CHECK(model.w.grad().at(net.edge_of(20, 30)) == doctest::Approx(0.375));
    CHECK(model.w.grad().at(net.edge_of(10, 20)) == doctest::Approx(1.125));
    CHECK(model.beta.grad().at(net.unit_of(20)) == doctest::Approx(0.5625));
  }

  TEST_CASE("a neuron's psi read by the loss itself: lambda is what reached psi plus what came through o") {
    // The network above; neuron 20 (sigmoid) is one op giving o1 with psi1 as its second output.
    // L2 = L + 2 psi1: lambda1 = 0.5625 + 2, dL2/dw1 = lambda1 x, dL2/dbeta1 = lambda1.
    // L3 = psi1 alone: only the second output has a gradient: lambda1 = 1, dw1 = x = 2, dw2 = 0.
    const Network net = hand_worked_network();
    const size_t k = net.unit_of(20);
    const int64_t w1 = net.edge_of(10, 20), w2 = net.edge_of(20, 30);
    SeedModel model(net);
    {
      Tape tape;
      const auto& out = model.forward(Array(Shape{1, 1}, {2.0}));
      const std::vector<double> y{1.0};
      Tensor loss = model.loss(out.z, y, LossKind::sse) + 2.0 * sum(out.psi[k]);
      loss.backward();
      CHECK(out.psi[k].grad().item() == doctest::Approx(2.5625));
      CHECK(model.w.grad().at(w1) == doctest::Approx(5.125));
      CHECK(model.beta.grad().at(static_cast<int64_t>(k)) == doctest::Approx(2.5625));
      CHECK(model.w.grad().at(w2) == doctest::Approx(0.375));
    }
    model.zero_grad();
    {
      Tape tape;
      const auto& out = model.forward(Array(Shape{1, 1}, {2.0}));
      Tensor loss = sum(out.psi[k]);
      loss.backward();
      CHECK(out.psi[k].grad().item() == 1.0);
      CHECK(model.w.grad().at(w1) == 2.0);
      CHECK(model.beta.grad().at(static_cast<int64_t>(k)) == 1.0);
      CHECK(model.w.grad().at(w2) == 0.0);
    }
  }

  TEST_CASE("eval mode scales weights by the keep probability (eq. 14)") {
    // One input, one identity output, w = 2, keep 0.25: eval psi = 2 * 0.25 * x.
    Network net;
    net.add_input(0);
    net.add_neuron({.id = 1});
    net.add_arrow({0, 1, 2.0, 0.25});
    net.set_outputs({1});
    Tape tape;
    SeedModel model(net);
    model.eval();
    CHECK(model.forward(Array(Shape{1, 1}, {3.0})).z.item() == doctest::Approx(1.5));
    model.train();
    model.set_mask(std::vector<double>{0.0});
    CHECK(model.forward(Array(Shape{1, 1}, {3.0})).z.item() == 0.0);
    model.clear_mask();  // training without dropout: r = 1
    CHECK(model.forward(Array(Shape{1, 1}, {3.0})).z.item() == doctest::Approx(6.0));
  }
}

TEST_CASE("seed network: unit dropout shares one draw among a source's arrows") {
  Network net;
  net.add_input(0);
  net.add_input(1);
  for (int k = 2; k < 6; ++k) {
    net.add_neuron({.id = k});
    net.add_arrow({0, k, 1.0, 0.5});
    net.add_arrow({1, k, 1.0, 0.5});
  }
  net.set_outputs({2, 3, 4, 5});
  Tape tape;
  SeedModel model(net);
  std::mt19937_64 rng(3);
  const std::vector<double> x{1.0, 10.0, 2.0, 20.0};
  for (int trial = 0; trial < 20; ++trial) {
    model.draw_unit_mask(rng, 2, MaskMode::per_example);
    const auto& z = model.forward(Array(Shape{2, 2}, x)).z.value();
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t k = 1; k < 4; ++k) CHECK(z.at(i * 4 + k) == z.at(i * 4));  // same inputs dropped everywhere
  }
}

TEST_CASE("seed network: running batch-norm statistics follow PyTorch's update") {
  // rm <- 0.9 rm + 0.1 muhat, rv <- 0.9 rv + 0.1 m/(m-1) nuhat^2, from rm = 0, rv = 1.
  Network net;
  net.add_input(0);
  net.add_neuron({.id = 1, .batch_norm = true});
  net.add_arrow({0, 1, 2.0, {}});
  net.set_outputs({1});
  Tape tape;
  SeedModel model(net);
  model.forward(Array(Shape{4, 1}, {1.0, 2.0, 3.0, 6.0}));  // psi = 2, 4, 6, 12: mean 6, biased var 14
  const uint32_t k = model.network().unit_of(1);
  CHECK(model.running_mean.value().at(k) == doctest::Approx(0.6));
  CHECK(model.running_var.value().at(k) == doctest::Approx(0.9 + 0.1 * 14.0 * 4.0 / 3.0));
  model.eval();  // eval uses them: psihat = (psi - 0.6) / sqrt(rv + eps)
  const double z = model.forward(Array(Shape{1, 1}, {1.0})).z.item();
  CHECK(z == doctest::Approx((2.0 - 0.6) / std::sqrt(0.9 + 0.1 * 14.0 * 4.0 / 3.0 + 1e-5)));
}

TEST_SUITE("seed network errors") {
  auto base = [] {
    Network net;
    net.add_input(1);
    net.add_neuron({.id = 2, .activation = Activation::tanh});
    net.add_neuron({.id = 3});
    net.add_arrow({1, 2, 0.5, {}});
    net.add_arrow({2, 3, 0.5, {}});
    net.set_outputs({3});
    return net;
  };

  TEST_CASE("a cycle is an error that names neurons on it") {
    Network net = base();
    net.add_neuron({.id = 4});
    net.add_arrow({3, 4, 1.0, {}});
    net.add_arrow({4, 2, 1.0, {}});
    const auto msg = test::message_of<ValueError>([&] { net.finalize(); });
    CHECK(test::contains(msg, "cycle"));
    // the cycle, from whichever neuron the walk starts at
    CHECK(test::contains(msg, "2 -> 3"));
    CHECK(test::contains(msg, "3 -> 4"));
    CHECK(test::contains(msg, "4 -> 2"));
  }

  TEST_CASE("bad structure is explained") {
    {
      Network net = base();
      net.add_arrow({1, 9, 1.0, {}});
      CHECK(test::contains(test::message_of<ValueError>([&] { net.finalize(); }), "unknown id 9"));
    }
    {
      Network net = base();
      net.add_arrow({1, 2, 1.0, {}});
      CHECK(test::contains(test::message_of<ValueError>([&] { net.finalize(); }), "duplicate arrow 1 -> 2"));
    }
    {
      Network net = base();
      net.add_arrow({3, 1, 1.0, {}});
      CHECK(test::contains(test::message_of<ValueError>([&] { net.finalize(); }), "into input 1"));
    }
    {
      Network net = base();
      net.set_outputs({});
      CHECK(test::contains(test::message_of<ValueError>([&] { net.finalize(); }), "no output"));
    }
    {
      Network net;
      net.add_neuron({.id = 2});
      net.set_outputs({2});
      CHECK(test::contains(test::message_of<ValueError>([&] { net.finalize(); }), "no input"));
    }
    for (double keep : {0.0, 1.5, -0.1}) {
      Network net = base();
      net.add_arrow({1, 3, 1.0, keep});
      CHECK(test::contains(test::message_of<ValueError>([&] { net.finalize(); }), "keep probability"));
    }
  }

  TEST_CASE("full-mode batch norm refuses to train on a minibatch of one; non-finite inputs are refused") {
    Network net;
    net.add_input(1);
    net.add_neuron({.id = 2, .batch_norm = true});
    net.add_arrow({1, 2, 1.0, {}});
    net.set_outputs({2});
    Tape tape;
    SeedModel model(net);
    CHECK(test::contains(test::message_of<ValueError>([&] {
                           model.forward(Array(Shape{1, 1}, {1.0}));
                         }),
                         "at least 2"));
    CHECK(test::contains(test::message_of<ValueError>([&] {
                           model.forward(Array(Shape{2, 1}, {1.0, NAN}));
                         }),
                         "non-finite"));
  }
}

TEST_CASE("seed network: each batch-norm unit's running statistics move from its own previous values (eq. 22)") {
  nn::Network net;
  net.add_input(0);
  net.add_input(1);
  net.add_neuron({.id = 2, .activation = nn::Activation::tanh, .batch_norm = true});
  net.add_neuron({.id = 3, .activation = nn::Activation::identity, .batch_norm = true});
  net.add_arrow({0, 2, 0.5, {}});
  net.add_arrow({1, 2, -1.0, {}});
  net.add_arrow({2, 3, 2.0, {}});
  net.add_arrow({0, 3, 0.25, {}});
  net.set_outputs(std::vector<int64_t>{3});
  net.batch_norm_momentum = 0.25;
  nn::SeedModel model(net);
  std::vector<double> want_mean(4, 0.0), want_var(4, 1.0);
  for (int pass = 0; pass < 3; ++pass) {
    CAPTURE(pass);
    Tape tape;
    Array x(Shape{3, 2});
    for (int64_t i = 0; i < 6; ++i) x.set(i, std::sin(1.0 + i + 7.0 * pass));
    const auto& out = model.forward(x);
    for (int64_t k : {2, 3}) {  // psi_k's batch mean and unbiased variance, into the running values
      const std::vector<double> psi = out.psi[size_t(k)].value().to_vector();
      const double mean = (psi[0] + psi[1] + psi[2]) / 3;
      double var = 0;
      for (double p : psi) var += (p - mean) * (p - mean) / 2;
      want_mean[size_t(k)] = 0.75 * want_mean[size_t(k)] + 0.25 * mean;
      want_var[size_t(k)] = 0.75 * want_var[size_t(k)] + 0.25 * var;
      CHECK(model.running_mean.value().at(k) == doctest::Approx(want_mean[size_t(k)]).epsilon(1e-12));
      CHECK(model.running_var.value().at(k) == doctest::Approx(want_var[size_t(k)]).epsilon(1e-12));
    }
  }
}
