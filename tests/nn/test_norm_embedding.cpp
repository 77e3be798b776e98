// BatchNorm2d, LayerNorm, Embedding and Dropout2d: values against their definitions written here,
// first and second derivatives by central differences (float64), and bad input.
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/autodiff.hpp"
#include "nn/nn.hpp"
#include "support/check.hpp"

using namespace tapegrad;

namespace {

using test::random_array;

/// Per-channel mean and biased variance of x [N, C, H, W], from the definition.
std::pair<std::vector<double>, std::vector<double>> channel_stats(const Array& x) {
  const int64_t N = x.shape()[0], C = x.shape()[1], S = x.shape()[2] * x.shape()[3];
  std::vector<double> mean(size_t(C), 0.0), var(size_t(C), 0.0);
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) mean[size_t(c)] += x.at((n * C + c) * S + s) / double(N * S);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s)
        var[size_t(c)] += std::pow(x.at((n * C + c) * S + s) - mean[size_t(c)], 2) / double(N * S);
  }
  return {mean, var};
}

}  // namespace

TEST_SUITE("normalisation and embedding") {
  TEST_CASE("BatchNorm2d normalises each channel over batch and space; running statistics; evaluation") {
    Tape tape;
    nn::BatchNorm2d bn(3);
    const Array x = random_array({4, 3, 5, 2}, 1);
    const auto [mean, var] = channel_stats(x);
    const Array y = bn(Tensor(x)).value();
    const int64_t S = 10;
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t s = 0; s < S; ++s) {
          const int64_t i = (n * 3 + c) * S + s;
          CHECK(y.at(i) ==
                doctest::Approx((x.at(i) - mean[size_t(c)]) / std::sqrt(var[size_t(c)] + 1e-5)).epsilon(1e-12));
        }
    const int64_t m = 4 * S;  // running variance is the unbiased one, as PyTorch's
    for (int64_t c = 0; c < 3; ++c) {
      CHECK(bn.running_mean.value().at(c) == doctest::Approx(0.1 * mean[size_t(c)]).epsilon(1e-12));
      CHECK(bn.running_var.value().at(c) ==
            doctest::Approx(0.9 + 0.1 * var[size_t(c)] * double(m) / double(m - 1)).epsilon(1e-12));
    }
    bn.eval();
    const Array z = bn(Tensor(x)).value();
    const double rm = bn.running_mean.value().at(1), rv = bn.running_var.value().at(1);
    CHECK(z.at(S + 3) == doctest::Approx((x.at(S + 3) - rm) / std::sqrt(rv + 1e-5)).epsilon(1e-12));
    CHECK(test::message_of<Error>([&] { bn(Tensor(random_array({4, 3}, 2))); }).find("[4, 3]") != std::string::npos);
    // BatchNorm1d and the functional form keep to their ranks (the op reads both layouts)
    nn::BatchNorm1d bn1d(3);
    CHECK(test::message_of<Error>([&] { bn1d(Tensor(x)); }).find("BatchNorm1d: input must be [batch, features]") !=
          std::string::npos);
    CHECK(test::message_of<Error>([&] {
            nn::batch_norm(Tensor(random_array({2, 3, 4}, 3)), {}, {}, nullptr, nullptr, true);
          }).find("[2, 3, 4]") != std::string::npos);
    // one value per channel cannot be normalised in full mode
    CHECK(test::message_of<Error>([&] {
            nn::BatchNorm2d one(3);
            one(Tensor(random_array({1, 3, 1, 1}, 4)));
          }).find("more than one value per channel") != std::string::npos);
  }

  TEST_CASE("BatchNorm2d seed mode: dL/dx = gamma dL/dy / sigma per channel (eq. 21)") {
    Tape tape;
    nn::BatchNorm2d bn(2, {.mode = nn::BatchNormMode::seed});
    bn.weight.mutable_value().set(0, 1.5);
    bn.weight.mutable_value().set(1, -0.5);
    Tensor x(random_array({3, 2, 2, 2}, 3), true);
    const Array r = random_array({3, 2, 2, 2}, 4);
    sum(bn(x) * Tensor(r)).backward();
    const auto [mean, var] = channel_stats(x.value());
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t c = (i / 4) % 2;
      CHECK(x.grad().at(i) ==
            doctest::Approx(bn.weight.value().at(c) * r.at(i) / std::sqrt(var[size_t(c)] + 1e-5)).epsilon(1e-12));
    }
  }

  TEST_CASE("a CNN with BatchNorm2d, LayerNorm and Dropout2d in evaluation: nn::gradcheck and nn::gradgradcheck") {
    Tape tape;
    std::mt19937_64 rng(5);
    nn::Sequential model{
        nn::Conv2d(2, 3, 3, rng, {.padding = 1}), nn::BatchNorm2d(3),    nn::ReLU(), nn::Dropout2d(0.3), nn::Flatten(),
        nn::LayerNorm(std::vector<int64_t>{48}),  nn::Linear(48, 3, rng)};
    const Tensor x(random_array({4, 2, 4, 4}, 6));
    const std::vector<int64_t> labels = {0, 1, 2, 1};
    for (const bool training : {true, false}) {
      CAPTURE(training);
      model.train(training);
      // Dropout2d draws a fresh mask per call: checked below, and left out here by reseeding it
      // before each evaluation of the loss.
      auto loss = [&] {
        model.seed(11);
        return nn::cross_entropy(model(x), labels);
      };
      CHECK_GRADCHECK(nn::gradcheck(model, loss));
      CHECK_GRADCHECK(nn::gradgradcheck(model, loss, {.projections = 4}));
    }
  }

  TEST_CASE("LayerNorm: values, gradients and second derivatives over the trailing dimensions") {
    Tape tape;
    nn::LayerNorm ln(std::vector<int64_t>{3, 4});
    const Array x = random_array({2, 3, 4}, 7);
    const Array y = ln(Tensor(x)).value();
    for (int64_t n = 0; n < 2; ++n) {
      double mu = 0, var = 0;
      for (int64_t k = 0; k < 12; ++k) mu += x.at(n * 12 + k) / 12;
      for (int64_t k = 0; k < 12; ++k) var += std::pow(x.at(n * 12 + k) - mu, 2) / 12;
      for (int64_t k = 0; k < 12; ++k)
        CHECK(y.at(n * 12 + k) == doctest::Approx((x.at(n * 12 + k) - mu) / std::sqrt(var + 1e-5)).epsilon(1e-12));
    }
    const std::vector<Array> in = {x, random_array({3, 4}, 8), random_array({3, 4}, 9)};
    const int64_t shape[] = {3, 4};
    TensorFunction f = [&shape](std::span<const Tensor> p) {
      return mean(square(nn::layer_norm(p[0], shape, p[1], p[2], 1e-3) - 0.3));
    };
    CHECK_GRADCHECK(gradcheck(f, in));
    CHECK_GRADCHECK(gradgradcheck(f, in, {.projections = 4}));
    CHECK(test::message_of<Error>([&] {
            ln(Tensor(random_array({2, 4, 3}, 1)));
          }).find("[2, 4, 3]") != std::string::npos);
    CHECK(test::message_of<Error>([&] { nn::LayerNorm(std::vector<int64_t>{}); }).find("non-empty") !=
          std::string::npos);
  }

  TEST_CASE("Embedding: rows of the table, repeated ids add their gradients, bad ids refused") {
    Tape tape;
    std::mt19937_64 rng(3);
    nn::Embedding emb(5, 3, rng);
    const std::vector<int64_t> ids = {4, 0, 4, 2, 4, 1};
    const Tensor e = emb(std::span<const int64_t>(ids), Shape{2, 3});
    REQUIRE(e.shape() == Shape{2, 3, 3});
    for (size_t k = 0; k < ids.size(); ++k)
      for (int64_t j = 0; j < 3; ++j) CHECK(e.value().at(int64_t(k) * 3 + j) == emb.weight.value().at(ids[k] * 3 + j));
    sum(e).backward();
    const double counts[] = {1, 1, 1, 0, 3};
    for (int64_t r = 0; r < 5; ++r)
      for (int64_t j = 0; j < 3; ++j) CHECK(emb.weight.grad().at(r * 3 + j) == counts[r]);
    const Tensor same = emb(Tensor(Array({2, 3}, {4, 0, 4, 2, 4, 1})));
    CHECK(same.shape() == Shape{2, 3, 3});
    CHECK(test::message_of<Error>([&] {
            emb(std::vector<int64_t>{5}, Shape{1});
          }).find("id 5 out of range for a table of 5") != std::string::npos);
    CHECK(test::message_of<Error>([&] { emb(std::vector<int64_t>{-1}, Shape{1}); }).find("id -1") != std::string::npos);
    CHECK(test::message_of<Error>([&] { emb(Tensor(Array({1}, {1.5}))); }).find("not an integer") != std::string::npos);
    CHECK(test::message_of<Error>([&] {
            emb(std::vector<int64_t>{1, 2}, Shape{3});
          }).find("do not fill") != std::string::npos);
  }

  TEST_CASE("Dropout2d zeroes whole channels with probability p, scales the rest, and is the identity in eval") {
    Tape tape;
    nn::Dropout2d drop(0.25, 9);
    Tensor x(Array::full({50, 40, 3, 2}, 1.0), true);
    const Tensor y = drop(x);
    int64_t dropped = 0;
    for (int64_t plane = 0; plane < 50 * 40; ++plane) {
      const double first = y.value().at(plane * 6);
      CHECK((first == 0.0 || first == doctest::Approx(1.0 / 0.75)));
      for (int64_t s = 1; s < 6; ++s) CHECK(y.value().at(plane * 6 + s) == first);
      dropped += first == 0.0;
    }
    CHECK(double(dropped) / 2000.0 == doctest::Approx(0.25).epsilon(0.1));  // 2000 draws: sd 0.01
    sum(y).backward();
    for (int64_t i = 0; i < x.numel(); i += 7) CHECK(x.grad().at(i) == y.value().at(i));  // d y / d x = the mask
    drop.eval();
    CHECK(drop(x).value().at(0) == 1.0);
    CHECK(test::message_of<Error>([] { nn::Dropout2d(1.0); }).find("[0, 1)") != std::string::npos);
    CHECK(test::message_of<Error>([&] {
            nn::Dropout2d(0.5).forward(Tensor(random_array({3, 4}, 1)));
          }).find("[3, 4]") != std::string::npos);
  }
}
