// Losses: hand-computed values and gradients, the three reductions, label smoothing, errors, and a
// gradient check of each in float64.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "autodiff/autodiff.hpp"
#include "nn/nn.hpp"
#include "support/check.hpp"

using namespace tapegrad;

TEST_SUITE("loss") {
  TEST_CASE("sse_loss: 0.5 ||z - y||^2 per example; sum, mean and none") {
    Tape tape;
    Tensor z = Tensor(Array({2, 2}, {1, 2, 3, 4})).requires_grad(true);
    Tensor y(Array({2, 2}, {0, 2, 5, 4}));
    Tensor loss = nn::sse_loss(z, y, nn::Reduction::sum);
    CHECK(loss.item() == doctest::Approx(0.5 * (1 + 4)));
    loss.backward();
    CHECK(z.grad().to_vector() == std::vector<double>{1, 0, -2, 0});
    CHECK(nn::sse_loss(z, y).item() == doctest::Approx(1.25));  // mean over the 2 examples is the default
    CHECK(nn::sse_loss(z, y, nn::Reduction::none).value().to_vector() == std::vector<double>{0.5, 2.0});
  }

  TEST_CASE("cross_entropy: value and gradient softmax - onehot, per example") {
    // Row 0: logits (0, 0) -> softmax (1/2, 1/2), target 0: grad (-1/2, 1/2), loss log 2.
    // Row 1: logits (ln 3, 0) -> softmax (3/4, 1/4), target 1: grad (3/4, -3/4), loss log 4.
    Tape tape;
    Tensor z = Tensor(Array({2, 2}, {0, 0, std::log(3.0), 0})).requires_grad(true);
    const std::vector<int64_t> t{0, 1};
    Tensor loss = nn::cross_entropy(z, t, nn::Reduction::sum);
    CHECK(loss.item() == doctest::Approx(std::log(2.0) + std::log(4.0)).epsilon(1e-14));
    loss.backward();
    const auto g = z.grad().to_vector();
    CHECK(g[0] == doctest::Approx(-0.5));
    CHECK(g[1] == doctest::Approx(0.5));
    CHECK(g[2] == doctest::Approx(0.75));
    CHECK(g[3] == doctest::Approx(-0.75));
    z.zero_grad();
    tape.clear();
    Tensor mean = nn::cross_entropy(z, t);  // the default: mean over the batch
    CHECK(mean.item() == doctest::Approx((std::log(2.0) + std::log(4.0)) / 2).epsilon(1e-14));
    mean.backward();
    CHECK(z.grad().at(2) == doctest::Approx(0.375));
    const auto none = nn::cross_entropy(z, t, nn::Reduction::none).value().to_vector();
    CHECK(none[0] == doctest::Approx(std::log(2.0)));
    CHECK(none[1] == doctest::Approx(std::log(4.0)));
  }

  TEST_CASE("cross_entropy with label smoothing: q = (1 - eps) onehot + eps / classes") {
    // One row, logits (ln 3, 0), target 1, eps 0.2: q = (0.1, 0.9), p = (3/4, 1/4).
    // loss = -(0.1 log 3/4 + 0.9 log 1/4); grad = p - q = (0.65, -0.65).
    Tape tape;
    Tensor z = Tensor(Array({1, 2}, {std::log(3.0), 0})).requires_grad(true);
    const std::vector<int64_t> t{1};
    Tensor loss = nn::cross_entropy(z, t, nn::Reduction::mean, 0.2);
    CHECK(loss.item() == doctest::Approx(-(0.1 * std::log(0.75) + 0.9 * std::log(0.25))).epsilon(1e-14));
    loss.backward();
    CHECK(z.grad().at(0) == doctest::Approx(0.65));
    CHECK(z.grad().at(1) == doctest::Approx(-0.65));
  }

  TEST_CASE("cross_entropy is stable for huge logits and works in float32") {
    Tape tape;
    Tensor z(Array({1, 3}, {1000.0, 0.0, -1000.0}, DType::f32));
    const std::vector<int64_t> t{0};
    const Tensor loss = nn::cross_entropy(z, t);
    CHECK(loss.dtype() == DType::f32);
    CHECK(loss.item() == doctest::Approx(0.0));
  }

  TEST_CASE("mse, nll and the logistic loss: hand-computed values") {
    Tape tape;
    Tensor p(Array({2}, {1.0, 3.0})), y(Array({2}, {0.0, 1.0}));
    CHECK(nn::mse_loss(p, y).item() == doctest::Approx((1.0 + 4.0) / 2));
    CHECK(nn::mse_loss(p, y, nn::Reduction::sum).item() == doctest::Approx(5.0));
    Tensor lp(Array({2, 2}, {std::log(0.25), std::log(0.75), std::log(0.5), std::log(0.5)}));
    const std::vector<int64_t> t{1, 0};
    CHECK(nn::nll_loss(lp, t).item() == doctest::Approx(-(std::log(0.75) + std::log(0.5)) / 2));
    // z = 0: log 2 whatever y; z = 2, y = 1: log(1 + e^-2)
    Tensor z(Array({2}, {0.0, 2.0}));
    Tensor yb(Array({2}, {0.3, 1.0}));
    CHECK(nn::binary_cross_entropy_with_logits(z, yb, nn::Reduction::sum).item() ==
          doctest::Approx(std::log(2.0) + std::log1p(std::exp(-2.0))));
    Tensor big(Array({1}, {-800.0})), zero(Array({1}, {0.0}));
    CHECK(std::isfinite(nn::binary_cross_entropy_with_logits(big, zero).item()));
  }

  TEST_CASE("loss errors name the loss, the shapes or the bad class") {
    Tape tape;
    const auto msg = test::message_of<ShapeError>([] { (void)nn::sse_loss(Tensor::zeros({2}), Tensor::zeros({3})); });
    CHECK(test::contains(msg, "sse_loss"));
    CHECK(test::contains(msg, "[2]"));
    CHECK(test::contains(msg, "[3]"));
    const std::vector<int64_t> one{0};
    CHECK_THROWS_AS((void)nn::cross_entropy(Tensor::zeros({2, 3}), one), ShapeError);
    const std::vector<int64_t> bad{0, 3};
    const auto cls = test::message_of<ValueError>([&] { (void)nn::cross_entropy(Tensor::zeros({2, 3}), bad); });
    CHECK(test::contains(cls, "target 3 of example 1"));
    const std::vector<int64_t> none;
    CHECK(test::contains(test::message_of<ValueError>([&] {
                           (void)nn::cross_entropy(Tensor::zeros({0, 3}), none);
                         }),
                         "empty"));
    CHECK_THROWS_AS((void)nn::cross_entropy(Tensor::zeros({1, 3}), one, nn::Reduction::mean, 1.5), ValueError);
  }

  TEST_CASE("every loss passes gradgradcheck") {
    std::mt19937_64 rng(6);
    const std::vector<int64_t> t{2, 0, 1};
    auto randn = [&](Shape s) { return Tensor::randn(s, rng).value(); };
    for (nn::Reduction r : {nn::Reduction::mean, nn::Reduction::sum, nn::Reduction::none}) {
      CAPTURE(static_cast<int>(r));
      // Reduction::none: the terms' sum, a scalar
      auto total = [r](const Tensor& loss) { return r == nn::Reduction::none ? sum(loss) : loss; };
      CHECK_GRADCHECK(gradgradcheck([&](std::span<const Tensor> x) { return total(nn::cross_entropy(x[0], t, r)); },
                                    std::vector<Array>{randn({3, 4})}));
      CHECK_GRADCHECK(
          gradgradcheck([&](std::span<const Tensor> x) { return total(nn::cross_entropy(x[0], t, r, 0.1)); },
                        std::vector<Array>{randn({3, 4})}));
      CHECK_GRADCHECK(
          gradgradcheck([&](std::span<const Tensor> x) { return total(nn::nll_loss(log_softmax(x[0]), t, r)); },
                        std::vector<Array>{randn({3, 4})}));
      CHECK_GRADCHECK(gradgradcheck([&](std::span<const Tensor> x) { return total(nn::sse_loss(tanh(x[0]), x[1], r)); },
                                    std::vector<Array>{randn({3, 2}), randn({3, 2})}));
      CHECK_GRADCHECK(gradgradcheck([&](std::span<const Tensor> x) { return total(nn::mse_loss(x[0], x[1], r)); },
                                    std::vector<Array>{randn({3, 2}), randn({3, 2})}));
      CHECK_GRADCHECK(gradgradcheck(
          [&](std::span<const Tensor> x) {
            return total(nn::binary_cross_entropy_with_logits(x[0], sigmoid(x[1]), r));
          },
          std::vector<Array>{randn({3, 2}), randn({3, 2})}));
    }
  }

  TEST_CASE("every loss passes gradcheck in every reduction") {
    std::mt19937_64 rng(5);
    const std::vector<int64_t> t{2, 0, 1};
    auto randn = [&](Shape s) { return Tensor::randn(s, rng).value(); };
    for (nn::Reduction r : {nn::Reduction::mean, nn::Reduction::sum, nn::Reduction::none}) {
      CAPTURE(static_cast<int>(r));
      CHECK_GRADCHECK(gradcheck([&](std::span<const Tensor> x) { return nn::cross_entropy(x[0], t, r); },
                                std::vector<Array>{randn({3, 4})}));
      CHECK_GRADCHECK(gradcheck([&](std::span<const Tensor> x) { return nn::cross_entropy(x[0], t, r, 0.1); },
                                std::vector<Array>{randn({3, 4})}));
      CHECK_GRADCHECK(gradcheck([&](std::span<const Tensor> x) { return nn::nll_loss(log_softmax(x[0]), t, r); },
                                std::vector<Array>{randn({3, 4})}));
      CHECK_GRADCHECK(gradcheck([&](std::span<const Tensor> x) { return nn::sse_loss(tanh(x[0]), x[1], r); },
                                std::vector<Array>{randn({3, 2}), randn({3, 2})}));
      CHECK_GRADCHECK(gradcheck([&](std::span<const Tensor> x) { return nn::mse_loss(x[0], x[1], r); },
                                std::vector<Array>{randn({3, 2}), randn({3, 2})}));
      CHECK_GRADCHECK(gradcheck(
          [&](std::span<const Tensor> x) { return nn::binary_cross_entropy_with_logits(x[0], sigmoid(x[1]), r); },
          std::vector<Array>{randn({3, 2}), randn({3, 2})}));
    }
  }
}

// Issue 20, items 6 and 7: finite losses that came out NaN, and precision lost to the max.
TEST_CASE("cross_entropy: -inf logits, overflowing sums and huge equal logits give the exact loss") {
  Tape tape;
  const std::vector<int64_t> second{1}, first{0};
  // p = [0, 1]: the loss is exactly 0 (not 0 * inf from the smoothing term's sum of logits)
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(nn::cross_entropy(Tensor(Array({1, 2}, {-inf, 0.0})), second).item() == 0.0);
  // with smoothing, q puts mass on the class of probability 0: the loss is +inf, not NaN
  CHECK(nn::cross_entropy(Tensor(Array({1, 2}, {-inf, 0.0})), second, nn::Reduction::mean, 0.1).item() == inf);
  // float32 logits whose sum overflows: log 2
  const Tensor big(Array({1, 2}, {3e38, 3e38}, DType::f32));
  CHECK(nn::cross_entropy(big, first).item() == doctest::Approx(std::log(2.0)).epsilon(1e-6));
  CHECK(nn::cross_entropy(big, first, nn::Reduction::mean, 0.1).item() == doctest::Approx(std::log(2.0)).epsilon(1e-6));
  // float64 logits of -1e30: log 2 exactly (the max used to absorb it)
  CHECK(nn::cross_entropy(Tensor(Array({1, 2}, {-1e30, -1e30})), first).item() == std::log(2.0));
  // a NaN logit makes the loss NaN
  CHECK(std::isnan(nn::cross_entropy(Tensor(Array({1, 2}, {std::nan(""), 0.0})), first).item()));
}

// Issue 20, item 23: the mean of no terms raises, as mean() does, instead of returning NaN.
TEST_CASE("losses: Reduction::mean of an empty batch raises (sum is 0), as cross_entropy's does") {
  Tape tape;
  const Tensor empty = Tensor::zeros({0, 3});
  for (const auto& loss : {+[](const Tensor& a) { return nn::mse_loss(a, a); },
                           +[](const Tensor& a) { return nn::binary_cross_entropy_with_logits(a, a); }})
    CHECK(
        test::contains(test::message_of<ShapeError>([&] { (void)loss(empty); }), "Reduction::mean over zero elements"));
  CHECK(nn::mse_loss(empty, empty, nn::Reduction::sum).item() == 0.0);
  CHECK(
      test::contains(test::message_of<ValueError>([&] { (void)nn::cross_entropy(empty, std::span<const int64_t>{}); }),
                     "the batch is empty"));
}
