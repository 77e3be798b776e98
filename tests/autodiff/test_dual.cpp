// Nested dual numbers (autodiff/dual.hpp): forward over forward carries second (and third)
// derivatives without a tape, reverse over forward records forward-mode arithmetic on the scalar
// tape. Nested reverse mode (autodiff/reverse.hpp): reverse over reverse, its sweep recorded on the
// scalar tape, and forward over reverse on duals. Every expected derivative is written out by hand
// below, not taken from the op structs.
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
using math::Reverse;
using Dual2 = BasicDual<Dual>;  // forward over forward

namespace {

/// A function of one variable with its first and second derivatives, by hand.
struct Case {
  std::string name;
  double x;
  std::function<Dual2(const Dual2&)> on_duals;
  std::function<BasicDual<Var>(const BasicDual<Var>&)> on_var_duals;    // the same on duals of Vars,
  std::function<Reverse<double>(const Reverse<double>&)> on_reverse;    // on nested reverse mode,
  std::function<Reverse<Var>(const Reverse<Var>&)> on_reverse_vars;     // on it over Vars,
  std::function<Reverse<Dual>(const Reverse<Dual>&)> on_reverse_duals;  // on it over duals
  double f, d1, d2;
};

std::vector<Case> unary_cases() {
  const double pi = std::numbers::pi;
  const auto sec2 = [](double x) { return 1.0 / (std::cos(x) * std::cos(x)); };
  std::vector<Case> cases;
  // f: a generic lambda, run on every number type
  auto add = [&cases](std::string name, double x, auto f, double value, double d1, double d2) {
    cases.push_back({std::move(name), x, f, f, f, f, f, value, d1, d2});
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

  // f(x) on nested reverse mode over T, f'(x) as a T.
  template <class T, class F>
  T reverse_derivative(const F& f, const T& x) {
    return math::reverse_gradient<T>([&f](std::span<const Reverse<T>> v) { return f(v[0]); },
                                     std::span<const T>(&x, 1))[0];
  }

  TEST_CASE("nested reverse mode: first derivatives, reverse over reverse and forward over reverse") {
    for (const Case& c : unary_cases()) {
      CAPTURE(c.name);
      CHECK(reverse_derivative(c.on_reverse, c.x) == doctest::Approx(c.d1).epsilon(1e-13));
      // forward over reverse, no tape: the gradient's tangent along x is f''(x)
      const Dual g = reverse_derivative(c.on_reverse_duals, Dual(c.x, 1.0));
      CHECK(g.v == doctest::Approx(c.d1).epsilon(1e-13));
      CHECK(g.t == doctest::Approx(c.d2).epsilon(1e-12));
      // reverse over reverse: the inner sweep runs on Vars, the tape differentiates it
      Tape tape;
      Var x = c.x;
      const Var d1 = reverse_derivative(c.on_reverse_vars, x);
      CHECK(d1.value() == doctest::Approx(c.d1).epsilon(1e-13));
      CHECK(gradient(d1, {x})[0] == doctest::Approx(c.d2).epsilon(1e-12));
    }
  }

  TEST_CASE("reverse over reverse: the Hessian of pow(a, b) + a b and of min, max") {
    const double a0 = 1.3, b0 = 0.6;
    // Row i of the Hessian: the gradient (inner reverse mode, on Vars) recorded afresh, its entry i
    // swept by the tape.
    const auto row = [&](size_t i, double& first_derivative) {
      Tape tape;
      Var a = a0, b = b0;
      const std::vector<Var> ab{a, b};
      const std::vector<Var> g = math::reverse_gradient<Var>(
          [](std::span<const Reverse<Var>> v) { return pow(v[0], v[1]) + v[0] * v[1]; }, std::span<const Var>(ab));
      first_derivative = g[i].value();
      return gradient(g[i], {a, b});
    };
    double f_a = 0, f_b = 0;
    const std::vector<double> row_a = row(0, f_a), row_b = row(1, f_b);
    // f_a = b a^(b-1) + b, f_b = a^b log a + a
    CHECK(f_a == doctest::Approx(b0 * std::pow(a0, b0 - 1) + b0).epsilon(1e-14));
    CHECK(f_b == doctest::Approx(std::pow(a0, b0) * std::log(a0) + a0).epsilon(1e-14));
    const double f_aa = b0 * (b0 - 1) * std::pow(a0, b0 - 2);
    const double f_ab = std::pow(a0, b0 - 1) * (1 + b0 * std::log(a0)) + 1;
    const double f_bb = std::pow(a0, b0) * std::log(a0) * std::log(a0);
    CHECK(row_a[0] == doctest::Approx(f_aa).epsilon(1e-13));
    CHECK(row_a[1] == doctest::Approx(f_ab).epsilon(1e-13));
    CHECK(row_b[0] == doctest::Approx(f_ab).epsilon(1e-13));
    CHECK(row_b[1] == doctest::Approx(f_bb).epsilon(1e-13));
    // max picks a (1.3 > 0.6): its gradient is (1, 0) whatever b, and constant (zero Hessian)
    const std::vector<double> at{a0, b0};
    const std::vector<double> grad_max = math::reverse_gradient<double>(
        [](std::span<const Reverse<double>> v) { return max(v[0], v[1]) * 2.0 + min(v[0], v[1]); }, std::span(at));
    CHECK(grad_max == std::vector<double>{2.0, 1.0});
  }

  TEST_CASE("nested reverse mode: constants, unreached inputs, and values of another call are refused") {
    const std::vector<double> at{2.0, 5.0};
    // the result ignores v[1]; a constant result has a zero gradient
    CHECK(math::reverse_gradient<double>([](std::span<const Reverse<double>> v) { return v[0] * v[0] + 1.0; },
                                         std::span(at)) == std::vector<double>{4.0, 0.0});
    CHECK(math::reverse_gradient<double>([](std::span<const Reverse<double>>) { return Reverse<double>(3.0); },
                                         std::span(at)) == std::vector<double>{0.0, 0.0});
    // an inner call of the same number type meeting the outer call's value
    CHECK_THROWS_AS(math::reverse_gradient<double>(
                        [&at](std::span<const Reverse<double>> outer) {
                          const Reverse<double> captured = outer[0];
                          (void)math::reverse_gradient<double>(
                              [&captured](std::span<const Reverse<double>> v) { return v[0] * captured; },
                              std::span(at));
                          return outer[0];
                        },
                        std::span(at)),
                    TapeError);
    // a call inside another's function, of the same number type, on its own values: each keeps its
    // graph (and its storage, reused by the calls after)
    for (int repeat = 0; repeat < 2; ++repeat) {
      double inner_slope = 0;
      const std::vector<double> outer = math::reverse_gradient<double>(
          [&inner_slope](std::span<const Reverse<double>> v) {
            const std::vector<double> three{3.0};
            inner_slope = math::reverse_gradient<double>(
                [](std::span<const Reverse<double>> u) { return u[0] * u[0] * u[0]; }, std::span(three))[0];
            return v[0] * v[1] * inner_slope;  // d/dv0 = v1 * 27, d/dv1 = v0 * 27
          },
          std::span(at));
      CHECK(inner_slope == 27.0);
      CHECK(outer == std::vector<double>{5.0 * 27, 2.0 * 27});
    }
    // a function that throws leaves the next call working
    CHECK_THROWS_AS(
        math::reverse_gradient<double>(
            [](std::span<const Reverse<double>>) -> Reverse<double> { throw ValueError("from f"); }, std::span(at)),
        ValueError);
    CHECK(math::reverse_gradient<double>([](std::span<const Reverse<double>> v) { return v[1] * 3.0; },
                                         std::span(at)) == std::vector<double>{0.0, 3.0});
    // a value kept past its call
    Reverse<double> kept;
    (void)math::reverse_gradient<double>(
        [&kept](std::span<const Reverse<double>> v) {
          kept = v[0] * 2.0;
          return kept;
        },
        std::span(at));
    CHECK_THROWS_AS((void)math::reverse_gradient<double>(
                        [&kept](std::span<const Reverse<double>> v) { return v[0] + kept; }, std::span(at)),
                    TapeError);
  }
}
