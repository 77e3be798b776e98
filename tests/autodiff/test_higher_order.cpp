// Second derivatives and forward mode (autodiff/higher_order.hpp): expected values are derived by
// hand here, never computed by the code under test. Every op's own second-order check is in
// test_op_gradchecks.cpp.
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/autodiff.hpp"
#include "support/check.hpp"

using namespace tapegrad;

namespace {

// f = x0 sin x1 + exp(x0 x1): the example, with its derivatives by hand.
Var example(std::span<const Var> v) { return v[0] * sin(v[1]) + exp(v[0] * v[1]); }
std::vector<double> example_gradient(double x0, double x1) {
  const double e = std::exp(x0 * x1);
  return {std::sin(x1) + x1 * e, x0 * std::cos(x1) + x0 * e};
}
std::vector<double> example_hessian(double x0, double x1) {
  const double e = std::exp(x0 * x1);
  const double h01 = std::cos(x1) + e + x0 * x1 * e;
  return {x1 * x1 * e, h01, h01, -x0 * std::sin(x1) + x0 * x0 * e};
}

// Rosenbrock, one statement per term so that tangents cross statements.
Var rosenbrock(std::span<const Var> x) {
  Var f = 0.0;
  for (size_t i = 0; i + 1 < x.size(); ++i) {
    Var inner = x[i + 1] - x[i] * x[i];
    f += 100.0 * inner * inner + (1.0 - x[i]) * (1.0 - x[i]);
  }
  return f;
}
std::vector<double> rosenbrock_hessian(const std::vector<double>& x) {
  const size_t n = x.size();
  std::vector<double> h(n * n, 0.0);
  for (size_t i = 0; i + 1 < n; ++i) {
    h[i * n + i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
    h[(i + 1) * n + i + 1] += 200;
    h[i * n + i + 1] += -400 * x[i];
    h[(i + 1) * n + i] += -400 * x[i];
  }
  return h;
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol).scale(1.0));
  }
}

}  // namespace

TEST_SUITE("higher order: scalars") {
  TEST_CASE("jvp, hvp and hessian of the issue's example match the derivatives by hand") {
    const std::vector<double> x{0.3, 1.2}, v{1.0, -0.5};
    const JvpResult j = jvp(example, x, v);
    CHECK(j.value == doctest::Approx(0.3 * std::sin(1.2) + std::exp(0.36)).epsilon(1e-15));
    const auto g = example_gradient(0.3, 1.2);
    CHECK(j.tangent == doctest::Approx(g[0] * v[0] + g[1] * v[1]).epsilon(1e-14));
    const auto h = example_hessian(0.3, 1.2);
    check_close(hvp(example, x, v), {h[0] * v[0] + h[1] * v[1], h[2] * v[0] + h[3] * v[1]});
    check_close(hessian(example, x), h);
    CHECK_GRADCHECK(gradgradcheck(example, x));
  }

  TEST_CASE("tangents cross statements: Rosenbrock's Hessian, symmetric to 1e-12") {
    const std::vector<double> x{-1.2, 1.0, 0.7, -0.3, 2.1};
    const auto h = hessian(rosenbrock, x);
    check_close(h, rosenbrock_hessian(x));
    const size_t n = x.size();
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < i; ++j)
        CHECK(std::abs(h[i * n + j] - h[j * n + i]) <= 1e-12 * (1 + std::abs(h[i * n + j])));
    CHECK_GRADCHECK(gradgradcheck(rosenbrock, x, {.projections = 6}));
  }

  TEST_CASE("a long chain of statements with every kind of operand") {
    // Constants, numbers, repeated operands and a compound assignment in one function.
    VarFunction f = [](std::span<const Var> v) {
      const Var c = Var(2.0).detach();  // a constant Var
      Var y = v[0] * v[1];
      for (int k = 0; k < 20; ++k) {
        y = tanh(y) * v[2] + sin(y * c) / (1.5 + v[0] * v[0]);
        y *= exp(-0.1 * v[1]);
      }
      return y * y + pow(v[2], 3.0);
    };
    const std::vector<double> x{0.4, -0.8, 1.1};
    CHECK_GRADCHECK(gradgradcheck(f, x));
    const auto h = hessian(f, x);
    for (size_t i = 0; i < 3; ++i)
      for (size_t j = 0; j < i; ++j)
        CHECK(std::abs(h[i * 3 + j] - h[j * 3 + i]) <= 1e-12 * (1 + std::abs(h[i * 3 + j])));
  }

  TEST_CASE("detach() is a constant at every order; a function of nothing has zero derivatives") {
    VarFunction f = [](std::span<const Var> v) { return v[0].detach() * v[0]; };  // c x with c = x's value
    const JvpResult j = jvp(f, std::vector<double>{3.0}, std::vector<double>{2.0});
    CHECK(j.value == 9.0);
    CHECK(j.tangent == 6.0);  // c * v, not 2 x v
    CHECK(hvp(f, std::vector<double>{3.0}, std::vector<double>{1.0}) == std::vector<double>{0.0});
    VarFunction constant = [](std::span<const Var>) { return Var(); };
    CHECK(jvp(constant, std::vector<double>{1.0}, std::vector<double>{1.0}).tangent == 0.0);
    CHECK(hvp(constant, std::vector<double>{1.0}, std::vector<double>{1.0}) == std::vector<double>{0.0});
  }

  TEST_CASE("kinks take the first derivatives' subgradient convention: relu, abs, max have zero curvature") {
    VarFunction f = [](std::span<const Var> v) { return relu(v[0]) * v[1] + abs(v[1]) + max(v[0], v[1]); };
    for (const std::vector<double>& x : {std::vector<double>{0.0, 0.0}, std::vector<double>{0.5, -0.5}}) {
      CAPTURE(x[0]);
      const auto h = hessian(f, x);
      // d/dx0 of relu'(x0) x1 = 0; the cross term d2/dx0dx1 relu(x0) x1 = relu'(x0) (0 at x0 = 0).
      check_close(h, {0.0, x[0] > 0 ? 1.0 : 0.0, x[0] > 0 ? 1.0 : 0.0, 0.0});
    }
  }

  TEST_CASE("the calls make their own recording: with no tape, under NoGradGuard, inside another recording") {
    const std::vector<double> x{0.3, 1.2}, v{1.0, -0.5};
    const auto want = hvp(example, x, v);  // no tape active here
    {
      NoGradGuard no_grad;
      CHECK(hvp(example, x, v) == want);
      CHECK(jvp(example, x, v).tangent != 0.0);
    }
    Tape outer;
    Var a = 2.0;
    Var b = a * a;
    const size_t statements = outer.scalar_statements();
    CHECK(hvp(example, x, v) == want);
    CHECK(outer.scalar_statements() == statements);
    b.backward();
    CHECK(a.grad() == 4.0);  // the outer recording is intact
  }

  TEST_CASE("misuse: wrong direction size, nested backward, an outer Var, a Hessian too large to hold") {
    const std::vector<double> x{0.3, 1.2};
    CHECK(test::contains(test::message_of<ShapeError>([&] { hvp(example, x, std::vector<double>{1.0}); }),
                         "direction has 1 entries"));
    CHECK(test::contains(test::message_of<ShapeError>([&] {
                           jvp(example, x, std::vector<double>{1.0, 2.0, 3.0});
                         }),
                         "the point 2"));
    VarFunction nested = [](std::span<const Var> v) {
      Var y = v[0] * v[0];
      y.backward();  // a gradient inside the differentiated function
      return y;
    };
    CHECK(test::contains(test::message_of<TapeError>([&] { hvp(nested, x, x); }), "differentiates one level"));
    CHECK(test::contains(test::message_of<TapeError>([&] { jvp(nested, x, x); }), "differentiates one level"));
    Tape outer;
    const Var captured = 1.0;
    VarFunction capturing = [captured](std::span<const Var> v) { return v[0] * captured; };
    CHECK(test::contains(test::message_of<TapeError>([&] { hvp(capturing, x, x); }), "another tape"));
    const std::vector<double> huge(1'000'000, 0.0);  // 10^12 entries: 8e12 bytes
    CHECK(test::contains(test::message_of<ValueError>([&] { hessian(example, huge); }), "8e+12 bytes"));
  }
}
