// Nested dual numbers (autodiff/dual.hpp): forward over forward carries second (and third)
// derivatives without a tape, reverse over forward records forward-mode arithmetic on the scalar
// tape. Every expected derivative is written out by hand below, not taken from the op structs.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"

using namespace tapegrad;
using math::BasicDual;
using math::Dual;
using Dual2 = BasicDual<Dual>;  // forward over forward

namespace {

/// A function of one variable with its first and second derivatives, by hand.
struct Case {
  std::string name;
  double x;
  std::function<Dual2(const Dual2&)> on_duals;
  std::function<BasicDual<Var>(const BasicDual<Var>&)> on_var_duals;  // the same on duals of Vars
  double f, d1, d2;
};

std::vector<Case> unary_cases() {
  const double pi = std::numbers::pi;
  const auto sec2 = [](double x) { return 1.0 / (std::cos(x) * std::cos(x)); };
  std::vector<Case> cases;
  // f: a generic lambda, run on both kinds of dual
  auto add = [&cases](std::string name, double x, auto f, double value, double d1, double d2) {
    cases.push_back({std::move(name), x, f, f, value, d1, d2});
  };
#define TAPEGRAD_CASE(fn, x, f, d1, d2) \
  add(                                  \
      #fn, x, [](const auto& v) { return math::fn(v); }, f, d1, d2)
  const double x = 0.7;
  TAPEGRAD_CASE(sqrt, x, std::sqrt(x), 0.5 / std::sqrt(x), -0.25 * std::pow(x, -1.5));
  TAPEGRAD_CASE(cbrt, x, std::cbrt(x), std::pow(x, -2.0 / 3) / 3, -2.0 / 9 * std::pow(x, -5.0 / 3));
  TAPEGRAD_CASE(exp, x, std::exp(x), std::exp(x), std::exp(x));
  TAPEGRAD_CASE(expm1, x, std::expm1(x), std::exp(x), std::exp(x));
  TAPEGRAD_CASE(log, x, std::log(x), 1 / x, -1 / (x * x));
  TAPEGRAD_CASE(log1p, x, std::log1p(x), 1 / (1 + x), -1 / ((1 + x) * (1 + x)));
  TAPEGRAD_CASE(sin, x, std::sin(x), std::cos(x), -std::sin(x));
  TAPEGRAD_CASE(cos, x, std::cos(x), -std::sin(x), -std::cos(x));
  TAPEGRAD_CASE(tan, x, std::tan(x), sec2(x), 2 * std::tan(x) * sec2(x));
  TAPEGRAD_CASE(asin, x, std::asin(x), 1 / std::sqrt(1 - x * x), x / std::pow(1 - x * x, 1.5));
  TAPEGRAD_CASE(acos, x, std::acos(x), -1 / std::sqrt(1 - x * x), -x / std::pow(1 - x * x, 1.5));
  TAPEGRAD_CASE(atan, x, std::atan(x), 1 / (1 + x * x), -2 * x / ((1 + x * x) * (1 + x * x)));
  TAPEGRAD_CASE(sinh, x, std::sinh(x), std::cosh(x), std::sinh(x));
  TAPEGRAD_CASE(cosh, x, std::cosh(x), std::sinh(x), std::cosh(x));
  TAPEGRAD_CASE(tanh, x, std::tanh(x), 1 - std::tanh(x) * std::tanh(x),
                -2 * std::tanh(x) * (1 - std::tanh(x) * std::tanh(x)));
  TAPEGRAD_CASE(erf, x, std::erf(x), 2 / std::sqrt(pi) * std::exp(-x * x), -4 * x / std::sqrt(pi) * std::exp(-x * x));
  TAPEGRAD_CASE(erfc, x, std::erfc(x), -2 / std::sqrt(pi) * std::exp(-x * x), 4 * x / std::sqrt(pi) * std::exp(-x * x));
#undef TAPEGRAD_CASE
  // Arithmetic: 1 / x and x^3 - 2x through the operators (constants on either side).
  add(
      "reciprocal", x, [](const auto& v) { return 1.0 / v; }, 1 / x, -1 / (x * x), 2 / (x * x * x));
  add(
      "cubic", x, [](const auto& v) { return v * v * v - 2.0 * v; }, x * x * x - 2 * x, 3 * x * x - 2, 6 * x);
  return cases;
}

}  // namespace

TEST_SUITE("dual") {
  TEST_CASE("forward over forward: value, first and second derivative of every function on duals") {
    for (const Case& c : unary_cases()) {
      CAPTURE(c.name);
      // x + eps1 + eps2: the eps1 eps2 part of f is f''(x)
      const Dual2 y = c.on_duals(Dual2(Dual(c.x, 1.0), Dual(1.0, 0.0)));
      CHECK(y.v.v == doctest::Approx(c.f).epsilon(1e-14));
      CHECK(y.v.t == doctest::Approx(c.d1).epsilon(1e-13));
      CHECK(y.t.v == doctest::Approx(c.d1).epsilon(1e-13));
      CHECK(y.t.t == doctest::Approx(c.d2).epsilon(1e-12));
    }
  }

  TEST_CASE("reverse over forward: the tape differentiates a forward-mode derivative") {
    for (const Case& c : unary_cases()) {
      CAPTURE(c.name);
      Tape tape;
      Var x = c.x;
      // f'(x) computed in forward mode on Vars, then its gradient by the reverse sweep: f''(x)
      const BasicDual<Var> fy = c.on_var_duals(BasicDual<Var>(x, Var(1.0)));
      CHECK(fy.v.value() == doctest::Approx(c.f).epsilon(1e-14));
      CHECK(fy.t.value() == doctest::Approx(c.d1).epsilon(1e-13));
      const std::vector<double> g = gradient(fy.t, {x});
      CHECK(g[0] == doctest::Approx(c.d2).epsilon(1e-12));
    }
  }

  TEST_CASE("binary functions: mixed second partials d2f/da db on nested duals") {
    const double a = 1.3, b = 0.6, r2 = a * a + b * b, r = std::sqrt(r2);
    // a along the inner tangent, b along the outer: the eps1 eps2 part is d2f / da db
    const Dual2 da(Dual(a, 1.0), Dual(0.0, 0.0)), db(Dual(b, 0.0), Dual(1.0, 0.0));
    const Dual2 p = math::pow(da, db);
    CHECK(p.v.v == doctest::Approx(std::pow(a, b)).epsilon(1e-14));
    CHECK(p.v.t == doctest::Approx(b * std::pow(a, b - 1)).epsilon(1e-14));        // df/da
    CHECK(p.t.v == doctest::Approx(std::pow(a, b) * std::log(a)).epsilon(1e-14));  // df/db
    CHECK(p.t.t == doctest::Approx(std::pow(a, b - 1) * (1 + b * std::log(a))).epsilon(1e-13));
    const Dual2 t = math::atan2(da, db);
    CHECK(t.v.t == doctest::Approx(b / r2).epsilon(1e-14));
    CHECK(t.t.v == doctest::Approx(-a / r2).epsilon(1e-14));
    CHECK(t.t.t == doctest::Approx((a * a - b * b) / (r2 * r2)).epsilon(1e-13));
    const Dual2 h = math::hypot(da, db);
    CHECK(h.v.v == doctest::Approx(r).epsilon(1e-14));
    CHECK(h.t.t == doctest::Approx(-a * b / (r * r2)).epsilon(1e-13));
  }

  TEST_CASE("a Hessian by forward over forward: f(x, y) = exp(x) y^2 / (1 + x^2)") {
    const double x0 = 0.4, y0 = -1.5;
    const auto f = [](const Dual2& x, const Dual2& y) { return math::exp(x) * y * y / (1.0 + x * x); };
    // By hand, with q = 1 + x^2 and u = exp(x) / q: u' = exp(x) (q - 2x) / q^2,
    // u'' = exp(x) ((q - 2x)^2 - 2 q + ... ) is long, so f_xx is checked by central differences
    // of the hand-written f_x = u' y^2, and f_xy = 2 y u', f_yy = 2 u exactly.
    const auto u = [](double x) { return std::exp(x) / (1 + x * x); };
    const auto u1 = [](double x) { return std::exp(x) * (1 + x * x - 2 * x) / ((1 + x * x) * (1 + x * x)); };
    const double h = 1e-5, uxx = (u1(x0 + h) - u1(x0 - h)) / (2 * h);
    const auto second = [&](int i, int j) {  // e_i along the inner tangent, e_j along the outer
      const Dual2 x(Dual(x0, i == 0), Dual(j == 0, 0.0)), y(Dual(y0, i == 1), Dual(j == 1, 0.0));
      return f(x, y).t.t;
    };
    CHECK(second(0, 0) == doctest::Approx(uxx * y0 * y0).epsilon(1e-8));
    CHECK(second(0, 1) == doctest::Approx(2 * y0 * u1(x0)).epsilon(1e-13));
    CHECK(second(1, 0) == doctest::Approx(2 * y0 * u1(x0)).epsilon(1e-13));
    CHECK(second(1, 1) == doctest::Approx(2 * u(x0)).epsilon(1e-13));
  }

  TEST_CASE("three levels: the third derivative of sin(x) x") {
    using Dual3 = BasicDual<Dual2>;
    const double x0 = 0.9;
    // x + eps1 + eps2 + eps3
    const Dual3 x(Dual2(Dual(x0, 1.0), Dual(1.0, 0.0)), Dual2(Dual(1.0, 0.0), Dual(0.0, 0.0)));
    const Dual3 y = math::sin(x) * x;
    // (x sin x)''' = -3 sin x - x cos x
    CHECK(y.t.t.t == doctest::Approx(-3 * std::sin(x0) - x0 * std::cos(x0)).epsilon(1e-13));
    CHECK(y.v.v.v == doctest::Approx(x0 * std::sin(x0)).epsilon(1e-15));
  }
}
