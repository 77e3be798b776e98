#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/autodiff.hpp"
#include "nn/nn.hpp"
#include "support/check.hpp"

using namespace tapegrad;

TEST_SUITE("loss") {
  TEST_CASE("sse_loss: 0.5 ||z - y||^2 summed over the batch, gradient z - y") {
    Tape tape;
    Tensor z = Tensor(Array({2, 2}, {1, 2, 3, 4})).requires_grad(true);
    Tensor y(Array({2, 2}, {0, 2, 5, 4}));
    Tensor loss = nn::sse_loss(z, y);
    CHECK(loss.item() == doctest::Approx(0.5 * (1 + 4)));
    loss.backward();
    CHECK(z.grad().to_vector() == std::vector<double>{1, 0, -2, 0});
    CHECK(nn::sse_loss(z, y, nn::Reduction::mean).item() == doctest::Approx(1.25));
  }

  TEST_CASE("cross_entropy gradient per example is softmax - onehot") {
    // Row 0: logits (0, 0) -> softmax (1/2, 1/2), target 0: grad (-1/2, 1/2), loss log 2.
    // Row 1: logits (ln 3, 0) -> softmax (3/4, 1/4), target 1: grad (3/4, -3/4), loss log 4.
    Tape tape;
    Tensor z = Tensor(Array({2, 2}, {0, 0, std::log(3.0), 0})).requires_grad(true);
    const std::vector<int64_t> t{0, 1};
    Tensor loss = nn::cross_entropy(z, t);
    CHECK(loss.item() == doctest::Approx(std::log(2.0) + std::log(4.0)).epsilon(1e-14));
    loss.backward();
    const auto g = z.grad().to_vector();
    CHECK(g[0] == doctest::Approx(-0.5));
    CHECK(g[1] == doctest::Approx(0.5));
    CHECK(g[2] == doctest::Approx(0.75));
    CHECK(g[3] == doctest::Approx(-0.75));
  }

  TEST_CASE("loss errors name the loss and the shapes") {
    Tape tape;
    const auto msg = test::message_of<ShapeError>([] { (void)nn::sse_loss(Tensor::zeros({2}), Tensor::zeros({3})); });
    CHECK(test::contains(msg, "sse_loss"));
    CHECK(test::contains(msg, "[2]"));
    CHECK(test::contains(msg, "[3]"));
    const std::vector<int64_t> t{0};
    CHECK_THROWS_AS((void)nn::cross_entropy(Tensor::zeros({2, 3}), t), ShapeError);
  }

  TEST_CASE("both losses pass gradcheck") {
    std::mt19937_64 rng(5);
    const std::vector<int64_t> t{2, 0, 1};
    CHECK_GRADCHECK(
        gradcheck([&](std::span<const Tensor> x) { return nn::cross_entropy(x[0], t, nn::Reduction::mean); },
                  std::vector<Array>{Tensor::randn({3, 4}, rng).value()}));
    CHECK_GRADCHECK(
        gradcheck([&](std::span<const Tensor> x) { return nn::sse_loss(tanh(x[0]), x[1]); },
                  std::vector<Array>{Tensor::randn({3, 2}, rng).value(), Tensor::randn({3, 2}, rng).value()}));
  }
}
