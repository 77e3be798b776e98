// Layers and modules: registration and names, moving, dtype conversion, every layer's gradient
// (float64 central differences through nn::gradcheck), dropout statistics, batch-norm statistics.
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/autodiff.hpp"
#include "nn/nn.hpp"
#include "support/check.hpp"

using namespace tapegrad;

namespace {

Tensor data(Shape s, uint64_t seed, DType dtype = DType::f64) {
  std::mt19937_64 rng(seed);
  return Tensor::randn(s, rng, dtype);
}

/// A user-defined module: one submodule and one parameter, registered in one line each.
struct Scaled : nn::Module {
  nn::Linear fc;
  Tensor scale = Tensor::full({1}, 1.5);
  explicit Scaled(std::mt19937_64& rng) : fc(3, 2, rng) {
    register_module("fc", fc);
    register_parameter("scale", scale);
  }
  Tensor forward(const Tensor& x) override { return tanh(fc(x)) * scale; }
};

/// A module whose op has a wrong backward (2x the true gradient): gradcheck must catch it.
struct Broken : nn::Module {
  Tensor w = Tensor::full({2}, 0.5);
  Broken() { register_parameter("w", w); }
  Tensor forward(const Tensor& x) override {
    OpRecord op("broken_mul", {&x, &w});
    Array& y = op.output(x.shape(), x.dtype());
    for (int64_t i = 0; i < y.numel(); ++i) y.set(i, op.in(0).at(i) * op.in(1).at(i % 2));
    return op.finish([](BackwardContext& c) {
      if (!c.needs_grad(1)) return;
      Array& g = c.grad_input(1);
      for (int64_t i = 0; i < c.grad_output().numel(); ++i)
        g.set(i % 2, g.at(i % 2) + 2.0 * c.grad_output().at(i) * c.input(0).at(i));
    });
  }
};

std::vector<std::string> names(const nn::NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

}  // namespace

TEST_SUITE("layers") {
  TEST_CASE("the snippet's model: dotted names, buffers, train/eval propagated, to(f32)") {
    std::mt19937_64 rng(42);
    nn::Sequential model{nn::Linear(784, 256, rng), nn::BatchNorm1d(256), nn::ReLU(), nn::Dropout(0.2),
                         nn::Linear(256, 10, rng)};
    CHECK(names(model.named_parameters()) ==
          std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"});
    CHECK(names(model.named_buffers()) == std::vector<std::string>{"1.running_mean", "1.running_var"});
    CHECK(model.parameters().size() == 6);
    model.eval();
    CHECK(!model[1].is_training());
    CHECK(!model.at<nn::Dropout>(3).is_training());
    model.train();
    CHECK(model[3].is_training());
    model.to(DType::f32);
    for (const Tensor& p : model.parameters()) CHECK(p.dtype() == DType::f32);
    for (const Tensor& b : model.buffers()) CHECK(b.dtype() == DType::f32);
    CHECK_THROWS_AS(model.at<nn::Linear>(2), ValueError);
    // PyTorch's default initialisation: |w| <= 1/sqrt(in)
    const Array& w = model.at<nn::Linear>(0).weight.value();
    double biggest = 0;
    for (int64_t i = 0; i < w.numel(); ++i) biggest = std::max(biggest, std::abs(w.at(i)));
    CHECK(biggest <= 1.0 / std::sqrt(784.0));
    CHECK(biggest > 0.9 / std::sqrt(784.0));
  }

  TEST_CASE("a user module: one-line registration, moves keep working, optimizers hold handles") {
    std::mt19937_64 rng(1);
    Scaled a(rng);
    CHECK(names(a.named_parameters()) == std::vector<std::string>{"scale", "fc.weight", "fc.bias"});
    nn::optim::SGD opt(a.parameters(), {.lr = 0.1});
    Scaled b = std::move(a);  // the optimizer still updates b's parameters
    Tape tape;
    const Tensor x = data({4, 3}, 2);
    Tensor loss = sum(square(b(x)));
    loss.backward();
    const double before = b.scale.value().at(0);
    opt.step();
    CHECK(b.scale.value().at(0) != before);
    CHECK(names(b.named_parameters()).size() == 3);
    struct Bad : nn::Module {
      Bad() {
        Tensor local = Tensor::zeros({1});
        register_parameter("local", local);
      }
      Tensor forward(const Tensor& x) override { return x; }
    };
    CHECK(test::contains(test::message_of<ValueError>([] { (void)std::make_unique<Bad>(); }), "not a data member"));
  }

  TEST_CASE("nn::gradcheck and nn::gradgradcheck: every layer in float64") {
    std::mt19937_64 rng(3);
    const Tensor x = data({5, 4}, 4);
    const std::vector<int64_t> labels{0, 2, 1, 2, 0};
    SUBCASE("Linear, with and without bias, and the activations") {
      nn::Sequential model{nn::Linear(4, 6, rng), nn::Tanh(),         nn::Linear(6, 6, rng, false), nn::Sigmoid(),
                           nn::Linear(6, 6, rng), nn::Softplus(),     nn::Linear(6, 6, rng),        nn::GELU(),
                           nn::Linear(6, 6, rng), nn::LeakyReLU(0.1), nn::Linear(6, 3, rng)};
      CHECK_GRADCHECK(nn::gradcheck(model, [&] { return nn::cross_entropy(model(x), labels); }));
      CHECK_GRADCHECK(
          nn::gradgradcheck(model, [&] { return nn::cross_entropy(model(x), labels); }, {.projections = 6}));
    }
    SUBCASE("BatchNorm1d in training (full mode), and in evaluation") {
      nn::Sequential model{nn::Linear(4, 6, rng), nn::BatchNorm1d(6), nn::Tanh(), nn::Linear(6, 3, rng)};
      for (Tensor& p : model.parameters()) p.mutable_value().assign(Tensor::randn(p.shape(), rng).value());
      CHECK_GRADCHECK(nn::gradcheck(model, [&] { return nn::cross_entropy(model(x), labels); }));
      CHECK_GRADCHECK(
          nn::gradgradcheck(model, [&] { return nn::cross_entropy(model(x), labels); }, {.projections = 6}));
      model.eval();
      CHECK_GRADCHECK(nn::gradcheck(model, [&] { return nn::cross_entropy(model(x), labels); }));
      CHECK_GRADCHECK(
          nn::gradgradcheck(model, [&] { return nn::cross_entropy(model(x), labels); }, {.projections = 6}));
    }
    SUBCASE("BatchNorm1d without the affine part") {
      nn::Sequential model{nn::Linear(4, 6, rng), nn::BatchNorm1d(6, {}, /*affine=*/false), nn::Linear(6, 3, rng)};
      CHECK(model.parameters().size() == 4);
      CHECK_GRADCHECK(nn::gradcheck(model, [&] { return nn::cross_entropy(model(x), labels); }));
      CHECK_GRADCHECK(
          nn::gradgradcheck(model, [&] { return nn::cross_entropy(model(x), labels); }, {.projections = 6}));
    }
    SUBCASE("Dropout and DropConnect with their masks fixed by reseeding") {
      nn::Sequential model{nn::DropConnect(nn::Linear(4, 6, rng), 0.7), nn::Tanh(), nn::Dropout(0.3),
                           nn::DropConnect(nn::Linear(6, 3, rng), 0.8, nn::MaskMode::per_example)};
      CHECK_GRADCHECK(nn::gradcheck(model, [&] {
        model.seed(9);
        return nn::cross_entropy(model(x), labels);
      }));
      CHECK_GRADCHECK(nn::gradgradcheck(model,
                                        [&] {
                                          model.seed(9);
                                          return nn::cross_entropy(model(x), labels);
                                        },
                                        {.projections = 6}));
    }
    SUBCASE("Flatten, and a seed-mode batch norm's gradient is the note's formula, not the true one") {
      nn::Sequential model{nn::Flatten(), nn::Linear(4, 3, rng), nn::BatchNorm1d(3, {.mode = nn::BatchNormMode::seed})};
      const auto result = nn::gradcheck(model, [&] { return nn::cross_entropy(model(reshape(x, {5, 2, 2})), labels); });
      CHECK_FALSE(result.ok);  // eq. 21 drops the statistics' terms: not the gradient of the loss
      const std::vector<Array> directions = [&] {
        std::vector<Array> d;
        for (const Tensor& p : model.parameters()) d.emplace_back(p.shape());
        return d;
      }();
      CHECK(test::contains(test::message_of<TapeError>([&] {
                             nn::hvp(
                                 model,
                                 [&] {
                                   return nn::cross_entropy(model(reshape(x, {5, 2, 2})), labels);
                                 },
                                 directions);
                           }),
                           "seed mode's backward"));
    }
  }

  TEST_CASE("Linear's backward after zero_grad assigns its products, then adds, at batch 1 (outer products) and 3") {
    // loss = sum(x W^T + b): dL/dW[o][i] = sum_r x[r][i], dL/db[o] = rows, dL/dx[r][i] = sum_o W[o][i].
    for (const DType dtype : {DType::f64, DType::f32})
      for (const int64_t rows : {1, 3}) {
        CAPTURE(rows);
        std::mt19937_64 rng(7);
        nn::Linear fc(4, 5, rng);
        fc.to(dtype);
        Tensor x = data({rows, 4}, 8, dtype).requires_grad(true);
        for (Tensor* p : {&fc.weight, &fc.bias, &x}) {
          p->mutable_grad().fill(9.0);  // stale values
          p->zero_grad();
        }
        for (int sweeps = 1; sweeps <= 2; ++sweeps) {  // the second sweep adds to the first
          Tape tape;
          sum(fc(x)).backward();
          const double tol = dtype == DType::f32 ? 1e-5 : 1e-12;
          for (int64_t o = 0; o < 5; ++o) {
            CHECK(fc.bias.grad().at(o) == doctest::Approx(sweeps * rows).epsilon(tol));
            for (int64_t i = 0; i < 4; ++i) {
              double column = 0;
              for (int64_t r = 0; r < rows; ++r) column += x.value().at(r * 4 + i);
              CHECK(fc.weight.grad().at(o * 4 + i) == doctest::Approx(sweeps * column).epsilon(tol));
            }
          }
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t i = 0; i < 4; ++i) {
              double column = 0;
              for (int64_t o = 0; o < 5; ++o) column += fc.weight.value().at(o * 4 + i);
              CHECK(x.grad().at(r * 4 + i) == doctest::Approx(sweeps * column).epsilon(tol));
            }
        }
      }
  }

  TEST_CASE("nn::gradcheck catches a wrong backward and names the parameter and element") {
    Broken model;
    const Tensor x = data({3, 2}, 5);
    const auto r = nn::gradcheck(model, [&] { return sum(square(model(x))); });
    CHECK_FALSE(r.ok);
    CHECK(test::contains(r.message, "parameter 'w' element 0"));
    CHECK(test::contains(r.message, "numeric"));
    CHECK(test::contains(r.message, "analytic"));
    const auto projected = nn::gradcheck(model, [&] { return sum(square(model(x))); }, {.projections = 3});
    CHECK_FALSE(projected.ok);
  }

  TEST_CASE("BatchNorm1d: seed-mode backward is lambdahat / sigma (eq. 21)") {
    Tape tape;
    nn::BatchNorm1d bn(2, {.mode = nn::BatchNormMode::seed});
    bn.weight.mutable_value().assign(Array(Shape{2}, {2.0, -1.0}));
    Tensor x = Tensor(Array({3, 2}, {1.0, 0.0, 2.0, 4.0, 6.0, 2.0})).requires_grad(true);
    const Tensor y = bn(x);
    const Array seed(Shape{3, 2}, {0.5, 1.0, -1.0, 2.0, 0.25, 3.0});
    y.backward(seed);
    // column 0: mean 3, var (4 + 1 + 9) / 3; column 1: mean 2, var (4 + 4 + 0) / 3
    const double s0 = std::sqrt(14.0 / 3 + 1e-5), s1 = std::sqrt(8.0 / 3 + 1e-5);
    for (int64_t i = 0; i < 3; ++i) {
      CHECK(x.grad().at(i * 2) == doctest::Approx(2.0 * seed.at(i * 2) / s0).epsilon(1e-12));
      CHECK(x.grad().at(i * 2 + 1) == doctest::Approx(-1.0 * seed.at(i * 2 + 1) / s1).epsilon(1e-12));
    }
    CHECK(y.value().at(0) == doctest::Approx(2.0 * (1.0 - 3.0) / s0));
  }

  TEST_CASE("BatchNorm1d running statistics (unbiased variance) and evaluation, both modes") {
    for (auto mode : {nn::BatchNormMode::full, nn::BatchNormMode::seed}) {
      Tape tape;
      nn::BatchNorm1d bn(1, {.mode = mode, .momentum = 0.1});
      const Tensor x(Array({4, 1}, {1.0, 2.0, 3.0, 6.0}));  // mean 3, unbiased var 14/3
      (void)bn(x);
      CHECK(bn.running_mean.value().at(0) == doctest::Approx(0.3));
      CHECK(bn.running_var.value().at(0) == doctest::Approx(0.9 + 0.1 * 14.0 / 3.0));
      bn.eval();
      const Tensor one(Array({1, 1}, {2.0}));
      CHECK(bn(one).item() == doctest::Approx((2.0 - 0.3) / std::sqrt(0.9 + 0.1 * 14.0 / 3.0 + 1e-5)));
      CHECK(bn.running_mean.value().at(0) == doctest::Approx(0.3));  // eval does not update
    }
    Tape tape;
    nn::BatchNorm1d bn(2);
    CHECK(test::contains(test::message_of<ValueError>([&] { (void)bn(Tensor::zeros({1, 2})); }), "at least 2"));
    CHECK_THROWS_AS((void)bn(Tensor::zeros({4, 3})), ShapeError);
  }

  TEST_CASE("Dropout keeps 1 - p of the elements, scales them by 1/(1 - p), and is the identity in eval") {
    Tape tape;
    nn::Dropout drop(0.3, 11);
    const Tensor x = Tensor::ones({200, 500});
    const Array& y = drop(x).value();
    int64_t kept = 0;
    for (int64_t i = 0; i < y.numel(); ++i) {
      if (y.at(i) != 0.0) {
        ++kept;
        CHECK(y.at(i) == doctest::Approx(1.0 / 0.7));
      }
    }
    const double n = 1e5, rate = double(kept) / n, sigma = std::sqrt(0.7 * 0.3 / n);
    CHECK(std::abs(rate - 0.7) < 5 * sigma);
    drop.eval();
    CHECK(drop(x).value().at(17) == 1.0);
    CHECK_THROWS_AS(nn::Dropout(1.0), ValueError);
  }

  TEST_CASE("DropConnect keeps connections with probability p and uses w p in evaluation (eq. 10-14)") {
    Tape tape;
    std::mt19937_64 rng(2);
    nn::DropConnect layer(nn::Linear(300, 200, rng), 0.6, nn::MaskMode::per_minibatch, 5);
    (void)layer(Tensor::ones({2, 300}));
    const Array& r = layer.mask().value();
    double kept = 0;
    for (int64_t i = 0; i < r.numel(); ++i) kept += r.at(i);
    const double n = 6e4, sigma = std::sqrt(0.6 * 0.4 / n);
    CHECK(std::abs(kept / n - 0.6) < 5 * sigma);
    layer.eval();
    const Tensor x = data({1, 300}, 6);
    const Tensor expected = nn::linear(x, layer.linear.weight * 0.6, layer.linear.bias);
    CHECK(layer(x).value().at(3) == doctest::Approx(expected.value().at(3)).epsilon(1e-14));
  }

  TEST_CASE("a float32 MLP trains on synthetic data with every optimizer") {
    std::mt19937_64 rng(7);
    const Tensor x = data({64, 8}, 8, DType::f32);
    std::vector<int64_t> labels(64);
    for (int64_t i = 0; i < 64; ++i) labels[size_t(i)] = x.value().at(i * 8) + x.value().at(i * 8 + 1) > 0 ? 1 : 0;
    for (int which = 0; which < 4; ++which) {
      CAPTURE(which);
      nn::Sequential model{nn::Linear(8, 16, rng), nn::BatchNorm1d(16), nn::ReLU(), nn::Dropout(0.1),
                           nn::Linear(16, 2, rng)};
      model.to(DType::f32);
      std::unique_ptr<nn::optim::Optimizer> opt;
      if (which == 0)
        opt = std::make_unique<nn::optim::SGD>(model.parameters(), nn::optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
      if (which == 1) opt = std::make_unique<nn::optim::Adam>(model.parameters(), nn::optim::AdamOptions{.lr = 0.01});
      if (which == 2) opt = std::make_unique<nn::optim::AdamW>(model.parameters(), nn::optim::AdamWOptions{.lr = 0.01});
      if (which == 3)
        opt = std::make_unique<nn::optim::RMSProp>(model.parameters(), nn::optim::RMSPropOptions{.lr = 0.01});
      Tape tape;
      double first = 0, last = 0;
      for (int step = 0; step < 60; ++step) {
        tape.clear();
        opt->zero_grad();
        Tensor loss = nn::cross_entropy(model(x), labels);
        CHECK(loss.dtype() == DType::f32);
        loss.backward();
        opt->step();
        (step == 0 ? first : last) = loss.item();
      }
      CHECK(last < 0.5 * first);
    }
  }

  TEST_CASE("SeedModel is a Module: named parameters and buffers, lambdahat from psihat") {
    nn::Network net;
    net.add_input(0);
    net.add_input(1);
    net.add_neuron({.id = 2, .activation = nn::Activation::tanh, .batch_norm = true});
    net.add_neuron({.id = 3});
    net.add_arrow({0, 2, 0.5, {}});
    net.add_arrow({1, 2, -0.3, {}});
    net.add_arrow({2, 3, 0.8, {}});
    net.set_outputs({3});
    nn::SeedModel model(net);
    CHECK(names(model.named_parameters()) == std::vector<std::string>{"w", "beta", "gamma", "theta"});
    CHECK(names(model.named_buffers()) == std::vector<std::string>{"running_mean", "running_var"});
    Tape tape;
    const Array x(Shape{3, 2}, {0.1, 0.2, -0.4, 0.3, 0.9, -0.5});
    const auto& out = model.forward(x);
    Tensor loss = sum(square(out.z));
    loss.backward();
    const uint32_t k = model.network().unit_of(2);
    REQUIRE(out.psihat[k].defined());
    // z_i = 0.8 tanh(psihat_i) + beta_3 and L = sum_i z_i^2, so by the chain rule
    // lambdahat_i = dL/dpsihat_i = 2 z_i 0.8 (1 - tanh^2 psihat_i) (eq. 20)
    for (int64_t i = 0; i < 3; ++i) {
      const double h = std::tanh(out.psihat[k].value().at(i)), z = out.z.value().at(i);
      CHECK(out.psihat[k].grad().at(i) == doctest::Approx(2 * z * 0.8 * (1 - h * h)).epsilon(1e-12));
    }
  }
}

// Issue 20, item 1: the outside probe's program, which segfaulted.
TEST_CASE("Module::to between forward and backward: TapeError naming the parameter's recorded and current dtype") {
  std::mt19937_64 rng(0);
  Tape tape;
  nn::Linear lin(512, 512, rng);
  Tensor x = data({4, 512}, 3);
  Tensor loss = sum(lin(x));
  lin.to(DType::f32);
  const std::string message = test::message_of<TapeError>([&] { loss.backward(); });
  CHECK(test::contains(message, "a parameter"));
  CHECK(test::contains(message, "[512, 512] float64, now [512, 512] float32"));
}
