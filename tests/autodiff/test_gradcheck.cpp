#include <doctest/doctest.h>

#include "autodiff/autodiff.hpp"
#include "support/check.hpp"

using namespace tapegrad;

TEST_SUITE("gradcheck") {
  TEST_CASE("gradcheck passes a correct scalar gradient and fails a wrong one") {
    CHECK_GRADCHECK(
        gradcheck([](std::span<const Var> v) -> Var { return v[0] * sin(v[1]) + exp(v[0] * v[1]); }, {0.3, 1.2}));
    // x * detach(x) has tape gradient x but true derivative 2x: the checker must say so.
    const auto bad = gradcheck([](std::span<const Var> v) -> Var { return v[0] * v[0].detach(); }, {0.7});
    CHECK_FALSE(bad.ok);
    CHECK(test::contains(bad.message, "x[0]"));
    CHECK(test::contains(bad.message, "numeric 1.4"));
  }

  TEST_CASE("gradcheck on tensors: full Jacobian and random projections") {
    std::mt19937_64 rng(1);
    const Array a = Tensor::randn({3, 4}, rng).value();
    const Array b = Tensor::randn({4, 2}, rng).value();
    const TensorFunction f = [](std::span<const Tensor> t) { return tanh(matmul(t[0], t[1])); };
    CHECK_GRADCHECK(gradcheck(f, std::vector<Array>{a, b}));
    CHECK_GRADCHECK(gradcheck(f, std::vector<Array>{a, b}, {.projections = 8}));
    const TensorFunction wrong = [](std::span<const Tensor> t) { return t[0] * t[0].detach(); };
    CHECK_FALSE(gradcheck(wrong, std::vector<Array>{a}).ok);
    CHECK_FALSE(gradcheck(wrong, std::vector<Array>{a}, {.projections = 4}).ok);
  }

  TEST_CASE("gradcheck refuses float32 inputs") {
    const TensorFunction f = [](std::span<const Tensor> t) { return sum(t[0]); };
    CHECK_THROWS_AS(gradcheck(f, std::vector<Array>{Array(Shape{2}, DType::f32)}), ValueError);
  }
}
