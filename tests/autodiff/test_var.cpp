#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "support/check.hpp"

using namespace tapegrad;

TEST_SUITE("var") {
  TEST_CASE("the README example: sin(x) * y + exp(x / y) matches its derivative by hand") {
    Tape tape;
    Var x = 1.5, y = -0.5;
    Var f = sin(x) * y + exp(x / y);
    f.backward();
    // df/dx = y cos x + exp(x/y) / y;  df/dy = sin x - exp(x/y) x / y^2
    CHECK(f.value() == doctest::Approx(std::sin(1.5) * -0.5 + std::exp(-3.0)).epsilon(1e-15));
    CHECK(x.grad() == doctest::Approx(-0.5 * std::cos(1.5) + std::exp(-3.0) / -0.5).epsilon(1e-14));
    CHECK(y.grad() == doctest::Approx(std::sin(1.5) - std::exp(-3.0) * 1.5 / 0.25).epsilon(1e-14));
  }

  TEST_CASE("Rosenbrock's gradient at (-1.2, 1) is (-215.6, -88)") {
    // f = (1 - x)^2 + 100 (y - x^2)^2
    // df/dx = -2 (1 - x) - 400 x (y - x^2) = -2 (2.2) - 400 (-1.2)(1 - 1.44) = -4.4 - 211.2 = -215.6
    // df/dy = 200 (y - x^2) = 200 (-0.44) = -88
    Tape tape;
    Var x = -1.2, y = 1.0;
    Var f = pow(1.0 - x, 2) + 100.0 * pow(y - x * x, 2);
    const auto g = gradient(f, {x, y});
    CHECK(g[0] == doctest::Approx(-215.6).epsilon(1e-13));
    CHECK(g[1] == doctest::Approx(-88.0).epsilon(1e-13));
    CHECK(f.value() == doctest::Approx(4.84 + 100 * 0.44 * 0.44).epsilon(1e-14));
  }

  TEST_CASE("a Var used twice accumulates both paths; compound assignment records one statement") {
    Tape tape;
    Var x = 3.0;
    Var s = 0.0;
    for (int i = 0; i < 4; ++i) s += x * x;  // s = 4 x^2, ds/dx = 8x = 24
    const size_t statements = tape.scalar_statements();
    s.backward();
    CHECK(s.value() == 36.0);
    CHECK(x.grad() == 24.0);
    CHECK(statements == 4);  // four statements; leaves record no statement
    CHECK(tape.scalar_leaves() == 2);
  }

  TEST_CASE("scalar tape memory: 24 bytes per binary op, 12 per unary op") {
    Tape tape;
    Var a = 1.0, b = 2.0;
    const size_t before = tape.scalar_bytes();
    Var c = a * b;
    CHECK(tape.scalar_bytes() - before == 24);
    Var d = exp(c);
    CHECK(tape.scalar_bytes() - before == 36);
    (void)d;
  }

  TEST_CASE("arithmetic with doubles on either side and comparisons on values") {
    Tape tape;
    Var x = 2.0;
    Var f = 1.0 / x + x / 4.0 - 3.0 * x + (x - 1.0) * 2 + (5.0 - x);
    f.backward();
    // df/dx = -1/x^2 + 1/4 - 3 + 2 - 1 = -0.25 + 0.25 - 2 = -2
    CHECK(x.grad() == doctest::Approx(-2.0).epsilon(1e-15));
    CHECK(x < 3.0);
    CHECK(x > 1);
    CHECK(x == 2.0);
    CHECK(x <= f + 100.0);
    CHECK(-x == -2.0);
  }

  TEST_CASE("Jacobian of a vector function replays one recording once per output") {
    Tape tape;
    Var x = 2.0, y = 5.0;
    std::vector<Var> out{x * y, x + y, sin(x)};
    const size_t entries = tape.scalar_entries();
    const auto j = tape.jacobian(out, std::vector<Var>{x, y});
    CHECK(tape.scalar_entries() == entries);  // nothing re-recorded
    REQUIRE(j.size() == 6);
    CHECK(j[0] == 5.0);
    CHECK(j[1] == 2.0);
    CHECK(j[2] == 1.0);
    CHECK(j[3] == 1.0);
    CHECK(j[4] == doctest::Approx(std::cos(2.0)));
    CHECK(j[5] == 0.0);
    std::vector<double> into(6, -7.0);  // the buffer overload: every value overwritten
    tape.jacobian(out, std::vector<Var>{x, y}, into);
    CHECK(into == j);
    std::vector<double> short_buffer(5);
    CHECK_THROWS_AS(tape.jacobian(out, std::vector<Var>{x, y}, short_buffer), ShapeError);
  }

  TEST_CASE("jacobian_product: forward mode over a recording, J D for k directions at once") {
    Tape tape;
    Var x = 2.0, y = 5.0, z = -1.5;
    const Var constant;
    std::vector<Var> out{x * y + sin(z), exp(y) / x, constant, z * z * x};
    const std::vector<Var> inputs{x, y, z};
    const auto j = tape.jacobian(out, inputs);     // reverse mode, rows [4 x 3]
    const std::vector<double> d{1.0,  0.5, -2.0,   // x's row of D [3 x 2]
                                0.0,  3.0, 1.0,    // y's
                                -1.0, 2.0, 0.25};  // z's
    std::vector<double> want(4 * 3, 0.0), got(4 * 3, 9.0);
    for (size_t i = 0; i < 4; ++i)
      for (size_t c = 0; c < 3; ++c)
        for (size_t l = 0; l < 3; ++l) want[i * 3 + c] += j[i * 3 + l] * d[l * 3 + c];
    const size_t entries = tape.scalar_entries();
    tape.jacobian_product(out, inputs, d, got);
    CHECK(tape.scalar_entries() == entries);  // nothing re-recorded
    for (size_t e = 0; e < want.size(); ++e) CHECK(got[e] == doctest::Approx(want[e]).epsilon(1e-14));
    CHECK(got[6] == 0.0);  // the constant output's row
    // D = I gives the Jacobian's columns
    std::vector<double> identity{1, 0, 0, 0, 1, 0, 0, 0, 1}, columns(12);
    tape.jacobian_product(out, inputs, identity, columns);
    for (size_t e = 0; e < j.size(); ++e) CHECK(columns[e] == doctest::Approx(j[e]).epsilon(1e-14));
    std::vector<double> wrong(11);
    CHECK_THROWS_AS(tape.jacobian_product(out, inputs, identity, wrong), ShapeError);
    CHECK_THROWS_AS(tape.jacobian_product(out, inputs, std::vector<double>(4), columns), ShapeError);
    std::vector<double> four(4);
    CHECK_THROWS_AS(tape.jacobian_product(out, std::vector<Var>{out[0]}, std::vector<double>{1.0}, four),
                    TapeError);  // a statement is not an input
  }

  TEST_CASE("detach and NoGradGuard stop gradients") {
    Tape tape;
    Var x = 3.0;
    Var f = x * x.detach();  // treated as 3 x
    Var g;
    {
      NoGradGuard no_grad;
      g = x * 10.0;  // a constant 30
    }
    CHECK(g.is_constant());
    Var h = f + g * x;  // 3x + 30 x: dh/dx = 33
    h.backward();
    CHECK(x.grad() == 33.0);
  }

  TEST_CASE("constant Vars as operands, first, in the middle and last: their partials reach nothing") {
    Tape tape;
    Var c;
    {
      NoGradGuard no_grad;
      c = Var(5.0);
    }
    REQUIRE(c.is_constant());
    for (int round = 0; round < 2; ++round) {  // a fresh tape, then a cleared one
      // f is statement 0 and y the first leaf: a constant's partial landing on either would change
      // dh/dy. h = c y + (y + c y^2) c + y * 2 (detached); dh/dy = c + c + 2 c^2 y + 2.
      Var y = 2.0;
      Var f = c * y;
      Var g = (y + c * y * y) * c;
      Var h = f + g + y * y.detach();
      h.backward();
      CHECK(tape.scalar_leaves() == 1);
      CHECK(y.grad() == 5.0 + 5.0 + 2.0 * 25.0 * 2.0 + 2.0);
      CHECK(c.grad() == 0.0);
      CHECK(h.value() == 10.0 + (2.0 + 20.0) * 5.0 + 4.0);
      tape.clear();
    }
  }

  TEST_CASE("an expression of constants records nothing") {
    Tape tape;
    const size_t before = tape.scalar_entries();
    Var c = Var().detach() * 2.0 + 1.0;
    CHECK(c.is_constant());
    CHECK(c.value() == 1.0);
    CHECK(tape.scalar_entries() == before);
  }

  TEST_CASE("retain_graph allows a second sweep that accumulates") {
    Tape tape;
    Var x = 2.0;
    Var f = x * x * x;  // f' = 3x^2 = 12
    f.backward({.retain_graph = true});
    CHECK(x.grad() == 12.0);
    f.backward();
    CHECK(x.grad() == 24.0);
  }

  TEST_CASE("a cleared tape is reused: same results, no growth") {
    Tape tape;
    for (int round = 0; round < 3; ++round) {
      tape.clear();
      Var x = 0.5;
      Var f = tanh(x) * log1p(x);
      f.backward();
      const double t = std::tanh(0.5);
      CHECK(x.grad() == doctest::Approx((1 - t * t) * std::log1p(0.5) + t / 1.5).epsilon(1e-14));
    }
  }

  TEST_CASE("nested tapes: an inner problem inside an outer one") {
    Tape outer;
    Var a = 2.0;
    double inner_grad = 0;
    {
      Tape inner;  // the thread's active tape until it ends
      Var b = a.value();
      Var g = b * b * b;
      g.backward();
      inner_grad = b.grad();  // 3 b^2 = 12
    }
    Var f = a * inner_grad;  // back on the outer tape
    f.backward();
    CHECK(inner_grad == 12.0);
    CHECK(a.grad() == 12.0);
  }

  TEST_CASE("min, max and abs route the gradient to the selected operand") {
    Tape tape;
    Var a = 1.0, b = 4.0;
    Var f = max(a, b) * 2.0 + min(a, b) * 3.0 + abs(a - b);
    f.backward();
    CHECK(a.grad() == 3.0 - 1.0);
    CHECK(b.grad() == 2.0 + 1.0);
  }
}
