// Second derivatives and forward mode (autodiff/higher_order.hpp): expected values are derived by
// hand here, never computed by the code under test. Every op's own second-order check is in
// test_op_gradchecks.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

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
    const auto h = example_hessian(0.3, 1.2);
    const std::vector<double> want{h[0] * v[0] + h[1] * v[1], h[2] * v[0] + h[3] * v[1]};  // by hand
    const auto g = example_gradient(0.3, 1.2);
    check_close(hvp(example, x, v), want);  // no tape active here
    {
      NoGradGuard no_grad;
      check_close(hvp(example, x, v), want);
      CHECK(jvp(example, x, v).tangent == doctest::Approx(g[0] * v[0] + g[1] * v[1]).epsilon(1e-14));
    }
    Tape outer;
    Var a = 2.0;
    Var b = a * a;
    const size_t statements = outer.scalar_statements();
    check_close(hvp(example, x, v), want);
    CHECK(outer.scalar_statements() == statements);
    b.backward();
    CHECK(a.grad() == 4.0);  // the outer recording is intact
  }

  TEST_CASE("forward over reverse: a gradient taken inside jvp carries its tangent H x'") {
    const std::vector<double> x{-1.2, 1.0, 0.7}, v{0.5, -1.0, 2.0}, c{0.3, -1.1, 0.8};
    VarFunction weighted_gradient = [&](std::span<const Var> p) {  // c . grad g(p), g = Rosenbrock
      const std::vector<Var> g = gradient(rosenbrock, p);
      Var s = 0.0;
      for (size_t i = 0; i < g.size(); ++i) s += c[i] * g[i];
      return s;
    };
    // By hand: grad g and H for 3 variables; the tangent is c . H v.
    const std::vector<double> grad{-400 * x[0] * (x[1] - x[0] * x[0]) - 2 * (1 - x[0]),
                                   200 * (x[1] - x[0] * x[0]) - 400 * x[1] * (x[2] - x[1] * x[1]) - 2 * (1 - x[1]),
                                   200 * (x[2] - x[1] * x[1])};
    const auto h = rosenbrock_hessian(x);
    double value = 0, tangent = 0;
    for (size_t i = 0; i < 3; ++i) {
      value += c[i] * grad[i];
      for (size_t j = 0; j < 3; ++j) tangent += c[i] * h[i * 3 + j] * v[j];
    }
    const JvpResult j = jvp(weighted_gradient, x, v);
    CHECK(j.value == doctest::Approx(value).epsilon(1e-13));
    CHECK(j.tangent == doctest::Approx(tangent).epsilon(1e-13));
    // Reverse over reverse, and a gradient of recorded Vars outside jvp, are refused.
    CHECK(test::contains(test::message_of<TapeError>([&] { hvp(weighted_gradient, x, v); }), "reverse over reverse"));
    Tape plain;
    const std::vector<Var> recorded{Var(1.0), Var(2.0)};
    CHECK(test::contains(test::message_of<TapeError>([&] { gradient(example, recorded); }), "forward over reverse"));
    NoGradGuard constants;  // constant x: the plain gradient, as constants
    const std::vector<Var> at{Var(0.3), Var(1.2)};
    const std::vector<Var> g = gradient(example, at);
    const auto want = example_gradient(0.3, 1.2);
    CHECK(g[0].is_constant());
    CHECK(g[0].value() == doctest::Approx(want[0]).epsilon(1e-14));
    CHECK(g[1].value() == doctest::Approx(want[1]).epsilon(1e-14));
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

namespace {

std::mt19937_64 tensor_rng(11);
Array random(const Shape& s) { return Tensor::randn(s, tensor_rng).value(); }

/// (X^T X V) for X [m, k], V [k, n], by loops: the Hessian of 0.5 |X W|^2 in W applied to V.
std::vector<double> gram_times(const Array& x, const Array& v) {
  const int64_t m = x.shape()[0], k = x.shape()[1], n = v.shape()[1];
  std::vector<double> out(static_cast<size_t>(k * n), 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t r = 0; r < m; ++r)
        for (int64_t l = 0; l < k; ++l)
          out[static_cast<size_t>(i * n + j)] += x.at(r * k + i) * x.at(r * k + l) * v.at(l * n + j);
  return out;
}

}  // namespace

TEST_SUITE("higher order: tensors") {
  TEST_CASE("least squares in W: jvp, hvp and the Hessian by hand") {
    const Array x = random({5, 3}), w = random({3, 2}), v = random({3, 2});
    const Tensor data(x);  // a constant leaf, captured
    TensorFunction f = [&data](std::span<const Tensor> p) { return sum(square(matmul(data, p[0]))) * 0.5; };
    const std::vector<Array> in{w}, dir{v};
    // jvp: sum((X W) o (X V)), by loops.
    double tangent = 0.0;
    for (int64_t r = 0; r < 5; ++r)
      for (int64_t j = 0; j < 2; ++j) {
        double xw = 0, xv = 0;
        for (int64_t l = 0; l < 3; ++l) {
          xw += x.at(r * 3 + l) * w.at(l * 2 + j);
          xv += x.at(r * 3 + l) * v.at(l * 2 + j);
        }
        tangent += xw * xv;
      }
    const TensorJvpResult j = jvp(f, in, dir);
    CHECK(j.tangent.item() == doctest::Approx(tangent).epsilon(1e-12));
    const auto hv = hvp(f, in, dir);
    REQUIRE(hv.size() == 1);
    check_close(hv[0].to_vector(), gram_times(x, v));
    const Array h = hessian(f, in);  // [6, 6]: H e_j
    REQUIRE(h.shape() == Shape{6, 6});
    for (int64_t col = 0; col < 6; ++col) {
      Array e(Shape{3, 2});
      e.set(col, 1.0);
      const auto want = gram_times(x, e);
      for (int64_t row = 0; row < 6; ++row)
        CHECK(h.at(row * 6 + col) == doctest::Approx(want[size_t(row)]).epsilon(1e-12));
    }
  }

  TEST_CASE("the issue's network: every order checked, the Hessian symmetric to 1e-12") {
    TensorFunction g = [](std::span<const Tensor> p) { return mean(square(tanh(matmul(p[0], p[1])))); };
    const std::vector<Array> in{random({4, 3}), random({3, 2})}, dir{random({4, 3}), random({3, 2})};
    CHECK_GRADCHECK(gradcheck(g, in));
    CHECK_GRADCHECK(gradgradcheck(g, in));
    CHECK_GRADCHECK(gradgradcheck(g, in, {.projections = 8}));
    // jvp against the gradient's dot with the direction (reverse mode: another path through the ops).
    double dot = 0.0;
    {
      Tape tape;
      std::vector<Tensor> leaves{Tensor(in[0], true), Tensor(in[1], true)};
      g(leaves).backward();
      for (size_t i = 0; i < 2; ++i)
        for (int64_t k = 0; k < in[i].numel(); ++k) dot += leaves[i].grad().at(k) * dir[i].at(k);
    }
    CHECK(jvp(g, in, dir).tangent.item() == doctest::Approx(dot).epsilon(1e-12));
    const Array h = hessian(g, in);
    const int64_t n = h.shape()[0];
    REQUIRE(n == 18);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < i; ++k)
        CHECK(std::abs(h.at(i * n + k) - h.at(k * n + i)) <= 1e-12 * (1 + std::abs(h.at(i * n + k))));
  }

  TEST_CASE("jvp of a function of any output shape, in float32 too") {
    TensorFunction f = [](std::span<const Tensor> p) { return exp(p[0]) * 2.0; };
    for (DType dtype : {DType::f64, DType::f32}) {
      const Array x(Shape{2, 2}, {0.1, -0.2, 0.3, 0.4}, dtype), v(Shape{2, 2}, {1, 2, 3, 4}, dtype);
      const TensorJvpResult j = jvp(f, std::vector<Array>{x}, std::vector<Array>{v});
      REQUIRE(j.tangent.shape() == Shape{2, 2});
      CHECK(j.tangent.dtype() == dtype);
      for (int64_t k = 0; k < 4; ++k)
        CHECK(j.tangent.at(k) == doctest::Approx(2 * std::exp(x.at(k)) * v.at(k)).epsilon(1e-6));
    }
  }

  TEST_CASE("detach() is a constant at every order; an outer recording is left as it was") {
    TensorFunction f = [](std::span<const Tensor> p) { return sum(p[0].detach() * p[0]); };  // c . x
    const std::vector<Array> x{Array(Shape{3}, {1.0, 2.0, 3.0})}, v{Array(Shape{3}, {1.0, 1.0, 1.0})};
    CHECK(jvp(f, x, v).tangent.item() == 6.0);                          // c . v
    CHECK(hvp(f, x, v)[0].to_vector() == std::vector<double>(3, 0.0));  // no curvature through c
    Tape outer;
    Tensor w = Tensor::ones({3}).requires_grad(true);
    Tensor loss = sum(w * w);
    const size_t ops = outer.tensor_op_names().size();
    CHECK(hvp(f, x, v)[0].to_vector() == std::vector<double>(3, 0.0));
    CHECK(outer.tensor_op_names().size() == ops);
    loss.backward();
    CHECK(w.grad().to_vector() == std::vector<double>(3, 2.0));
  }

  TEST_CASE("misuse: directions of the wrong shape or dtype, a non-scalar hvp, no tangent rule, nesting") {
    TensorFunction f = [](std::span<const Tensor> p) { return sum(square(p[0])); };
    const std::vector<Array> x{Array(Shape{3})};
    CHECK(test::contains(test::message_of<ShapeError>([&] { hvp(f, x, std::vector<Array>{Array(Shape{2})}); }),
                         "direction 0 has shape [2], its input [3]"));
    CHECK(test::contains(
        test::message_of<ValueError>([&] { jvp(f, x, std::vector<Array>{Array(Shape{3}, DType::f32)}); }),
        "direction 0 is float32, its input float64"));
    CHECK(test::contains(test::message_of<ShapeError>([&] { hvp(f, x, std::vector<Array>{}); }), "0 directions for 1"));
    TensorFunction vector_valued = [](std::span<const Tensor> p) { return square(p[0]); };
    CHECK(test::contains(test::message_of<ShapeError>([&] { hvp(vector_valued, x, x); }), "one element"));
    TensorFunction ruleless = [](std::span<const Tensor> p) {
      OpRecord op("ruleless", {&p[0]});
      op.output(op.in(0).shape(), op.in(0).dtype()).assign(op.in(0));
      return sum(op.finish([](BackwardContext&) {}));
    };
    CHECK(test::contains(test::message_of<TapeError>([&] { jvp(ruleless, x, x); }),
                         "ruleless: the op has no tangent rule"));
    TensorFunction nested = [](std::span<const Tensor> p) {
      Tensor y = sum(square(p[0]));
      y.backward();
      return y;
    };
    CHECK(test::contains(test::message_of<TapeError>([&] { hvp(nested, x, x); }), "inside a function that jvp"));
    const std::vector<Array> huge{Array(Shape{1'000'000})};
    CHECK(test::contains(test::message_of<ValueError>([&] { hessian(f, huge); }), "8e+12 bytes"));
  }
}
