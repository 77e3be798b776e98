#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "autodiff/detail/arena.hpp"
#include "support/check.hpp"

using namespace tapegrad;

namespace {
void check_values(const Array& a, std::initializer_list<double> expected, double tol = 1e-12) {
  REQUIRE(a.numel() == static_cast<int64_t>(expected.size()));
  int64_t i = 0;
  for (double e : expected) {
    CAPTURE(i);
    CHECK(a.at(i++) == doctest::Approx(e).epsilon(tol));
  }
}
}  // namespace

TEST_SUITE("tensor") {
  TEST_CASE("broadcasting add: [2, 3] + [3] and [2, 1] + [3]") {
    Tape tape;
    Tensor a(Array({2, 3}, {1, 2, 3, 4, 5, 6}));
    Tensor b(Array({3}, {10, 20, 30}));
    Tensor c(Array({2, 1}, {100, 200}));
    check_values((a + b).value(), {11, 22, 33, 14, 25, 36});
    const Tensor d = c + b;
    CHECK(d.shape() == Shape{2, 3});
    check_values(d.value(), {110, 120, 130, 210, 220, 230});
  }

  TEST_CASE("a broadcast operand's gradient is summed back to its shape") {
    Tape tape;
    Tensor a = Tensor::ones({2, 3}).requires_grad(true);
    Tensor b = Tensor(Array({3}, {1, 2, 3})).requires_grad(true);
    sum(a * b).backward();
    check_values(b.grad(), {2, 2, 2});
    check_values(a.grad(), {1, 2, 3, 1, 2, 3});
  }

  TEST_CASE("matmul matches a hand product, 2-D and batched") {
    Tape tape;
    Tensor a(Array({2, 2}, {1, 2, 3, 4}));
    Tensor b(Array({2, 2}, {5, 6, 7, 8}));
    check_values(matmul(a, b).value(), {19, 22, 43, 50});
    Tensor ab(Array({2, 1, 2}, {1, 2, 3, 4}));
    const Tensor y = matmul(ab, b);
    CHECK(y.shape() == Shape{2, 1, 2});
    check_values(y.value(), {19, 22, 43, 50});
  }

  TEST_CASE("reductions with axes and keepdim") {
    Tape tape;
    Tensor x(Array({2, 3}, {1, 5, 3, 4, 2, 6}));
    check_values(sum(x).value(), {21});
    check_values(sum(x, {0}).value(), {5, 7, 9});
    CHECK(sum(x, {1}, true).shape() == Shape{2, 1});
    check_values(mean(x, {1}).value(), {3, 4});
    check_values(max(x, {1}).value(), {5, 6});
    check_values(min(x, {0}).value(), {1, 2, 3});
    check_values(logsumexp(x, {1}).value(), {std::log(std::exp(1) + std::exp(5) + std::exp(3)),
                                             std::log(std::exp(4) + std::exp(2) + std::exp(6))});
  }

  TEST_CASE("sum over every set of axes of a 4-D tensor equals the definition's loop") {
    Tape tape;
    const Shape shape{3, 1, 4, 5};  // a size-1 axis among them
    const Array xa = test::random_array(shape, 11);
    const Tensor x(xa);
    for (int mask = 0; mask < 16; ++mask) {
      CAPTURE(mask);
      std::vector<int> axes;
      for (int d = 0; d < 4; ++d)
        if (mask & (1 << d)) axes.push_back(d);
      if (axes.empty()) continue;  // sum with no axes is the full sum: mask 15 checks it
      const Array got = sum(x, axes, true).value();
      // Each element adds into the output cell its kept coordinates name.
      std::vector<double> want(static_cast<size_t>(got.numel()), 0.0);
      for (int64_t i = 0; i < xa.numel(); ++i) {
        int64_t rest = i, at = 0, scale = 1;
        for (int d = 3; d >= 0; --d) {
          const int64_t coordinate = rest % shape[d];
          rest /= shape[d];
          if (!(mask & (1 << d))) {
            at += coordinate * scale;
            scale *= shape[d];
          }
        }
        want[static_cast<size_t>(at)] += xa.at(i);
      }
      for (int64_t j = 0; j < got.numel(); ++j) CHECK(got.at(j) == doctest::Approx(want[size_t(j)]).epsilon(1e-13));
    }
  }

  TEST_CASE("a float32 sum of a million elements keeps float32's accuracy") {
    Tape tape;
    const int64_t n = 1 << 20;
    const Tensor x(Array(Shape{n}, std::vector<double>(size_t(n), 0.1), DType::f32));
    const double want = double(n) * double(0.1f);  // float(0.1) is what each element holds
    // Adding a million floats one after another in float drifts by ~1e-3 relative here.
    CHECK(sum(x).value().at(0) == doctest::Approx(want).epsilon(1e-7));
    CHECK(sum(reshape(x, {1024, 1024}), {1}).value().at(0) == doctest::Approx(1024 * double(0.1f)).epsilon(1e-7));
  }

  TEST_CASE("max splits the gradient between ties") {
    Tape tape;
    Tensor x = Tensor(Array({4}, {1, 3, 3, 2})).requires_grad(true);
    max(x).backward();
    check_values(x.grad(), {0, 0.5, 0.5, 0});
  }

  TEST_CASE("logsumexp is stable for large inputs") {
    Tape tape;
    Tensor x(Array({2}, {1000, 1000}));
    CHECK(logsumexp(x).item() == doctest::Approx(1000 + std::log(2.0)));
    const Tensor s = softmax(Tensor(Array({3}, {-1000, 0, 1000})));
    check_values(s.value(), {0, 0, 1});
  }

  TEST_CASE("shape ops move values where expected") {
    Tape tape;
    Tensor x(Array({2, 3}, {0, 1, 2, 3, 4, 5}));
    check_values(transpose(x).value(), {0, 3, 1, 4, 2, 5});
    check_values(slice(x, 1, 1, 3).value(), {1, 2, 4, 5});
    check_values(concat({x, x}, 0).value(), {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5});
    check_values(concat({x, slice(x, 1, 0, 1)}, 1).value(), {0, 1, 2, 0, 3, 4, 5, 3});
    CHECK(stack({x, x}, 1).shape() == Shape{2, 2, 3});
    const std::vector<int64_t> idx{2, 0};
    check_values(index_select(x, 1, idx).value(), {2, 0, 5, 3});
    const std::vector<int64_t> g{2, 1};
    check_values(gather(x, 1, g, Shape{2, 1}).value(), {2, 4});
    check_values(reshape(x, {3, -1}).value(), {0, 1, 2, 3, 4, 5});
    CHECK(reshape(x, {3, -1}).shape() == Shape{3, 2});
    CHECK(unsqueeze(x, 0).shape() == Shape{1, 2, 3});
  }

  TEST_CASE("comparisons give masks without gradient; where selects") {
    Tape tape;
    Tensor x = Tensor(Array({4}, {-2, -1, 1, 2})).requires_grad(true);
    const Tensor m = gt(x, 0.0);
    check_values(m.value(), {0, 0, 1, 1});
    CHECK_FALSE(m.requires_grad());
    const Tensor y = where(m, x, x * 0.1);
    check_values(y.value(), {-0.2, -0.1, 1, 2});
    sum(y).backward();
    check_values(x.grad(), {0.1, 0.1, 1, 1});
  }

  TEST_CASE("softmax cross-entropy gradient is softmax - onehot (hand-worked)") {
    // logits (0, ln 2, ln 5): softmax = (1, 2, 5) / 8. Target class 1.
    // L = -log softmax_1 = log 8 - log 2 = log 4; dL/dlogits = softmax - onehot = (1/8, 2/8 - 1, 5/8)
    Tape tape;
    Tensor z = Tensor(Array({1, 3}, {0, std::log(2.0), std::log(5.0)})).requires_grad(true);
    const std::vector<int64_t> target{1};
    Tensor loss = -sum(gather(log_softmax(z, 1), 1, target, Shape{1, 1}));
    CHECK(loss.item() == doctest::Approx(std::log(4.0)).epsilon(1e-14));
    loss.backward();
    check_values(z.grad(), {0.125, -0.75, 0.625});
  }

  TEST_CASE("parameter gradients accumulate across backward calls until zero_grad") {
    Tape tape;
    Tensor w = Tensor(Array({2}, {1, 2})).requires_grad(true);
    for (int i = 0; i < 3; ++i) {
      tape.clear();
      sum(square(w)).backward();
    }
    check_values(w.grad(), {6, 12});  // 3 x 2w
    w.zero_grad();
    check_values(w.grad(), {0, 0});
  }

  TEST_CASE("a gradient's first contribution is written, later ones add, through every write path") {
    // Ops whose contribution covers every element write a fresh gradient buffer (no zeroing) and add
    // into one already written: each buffer below gets its first contribution from one kind of op
    // and a second from another, and a leaf keeps its gradient across recordings.
    Tape tape;
    Tensor x = Tensor(Array({2, 2}, {1, 2, 3, 4})).requires_grad(true);
    Tensor w = Tensor(Array({2, 2}, {1, 0, 2, 1})).requires_grad(true);
    Tensor row = Tensor(Array({2}, {5, 7})).requires_grad(true);
    Tensor batched = Tensor(Array({3, 2, 2}, std::vector<double>(12, 1.0))).requires_grad(true);
    for (int step = 1; step <= 2; ++step) {
      tape.clear();
      const Tensor h = x * 3.0;  // h's gradient: exp's (unary), then mul's (binary), then matmul's
      const Tensor y = exp(h * 0.0) + h * h + matmul(h, w);  // exp(0) = 1: dy/dh = 2h + dmatmul/dh
      const Tensor z = y + row;                  // row broadcast: its gradient summed down (fresh, then added)
      const Tensor shared = matmul(batched, x);  // x shared over the batch: beta 0, then 1, 1
      (sum(z) + sum(shared) + sum(x * row)).backward();
      // dL/dh = 2h + 1 w^T (ones times w transposed: row sums of w) = 2h + [1, 3] per row
      // dL/dx = 3 dL/dh + (batched^T 1 summed over 3 batches: 3 * 2 per entry) + row
      const double step_d = step;
      check_values(x.grad(), {step_d * (3 * (2 * 3 + 1) + 6 + 5), step_d * (3 * (2 * 6 + 3) + 6 + 7),
                              step_d * (3 * (2 * 9 + 1) + 6 + 5), step_d * (3 * (2 * 12 + 3) + 6 + 7)});
      check_values(row.grad(), {step_d * (2 + 1 + 3), step_d * (2 + 2 + 4)});  // 2 rows of ones + x's columns
      // dL/dw = h^T 1: column sums of h = 3 * (1 + 3, 2 + 4) per row of w
      check_values(w.grad(), {step_d * 12, step_d * 12, step_d * 18, step_d * 18});
      // dL/dbatched[b] = 1 x^T: each row holds x's row sums (3, 7)
      const double per_batch[] = {3, 7, 3, 7};
      for (int64_t i = 0; i < 12; ++i) CHECK(batched.grad().at(i) == doctest::Approx(step_d * per_batch[i % 4]));
    }
  }

  TEST_CASE("intermediate gradients are readable after backward") {
    Tape tape;
    Tensor w = Tensor(Array({2}, {1, 2})).requires_grad(true);
    Tensor h = w * 3.0;
    sum(square(h)).backward();
    check_values(h.grad(), {6, 12});   // 2h
    check_values(w.grad(), {18, 36});  // 3 * 2h
  }

  TEST_CASE("detach and NoGradGuard stop tensor gradients") {
    Tape tape;
    Tensor w = Tensor(Array({2}, {1, 2})).requires_grad(true);
    Tensor y = w * w.detach();
    Tensor z;
    {
      NoGradGuard no_grad;
      z = w * 10.0;
    }
    CHECK_FALSE(z.requires_grad());
    sum(y + z * w).backward();
    check_values(w.grad(), {1 + 10, 2 + 20});
  }

  TEST_CASE("float32 tensors compute in float") {
    Tape tape;
    Tensor a = Tensor(Array({3}, {0.5, 1.0, 2.0}, DType::f32)).requires_grad(true);
    Tensor y = sum(exp(a) * a);
    CHECK(y.dtype() == DType::f32);
    y.backward();
    CHECK(a.grad().dtype() == DType::f32);
    // d/da (a e^a) = (1 + a) e^a
    check_values(a.grad(), {1.5 * std::exp(0.5), 2 * std::exp(1.0), 3 * std::exp(2.0)}, 1e-6);
  }

  TEST_CASE("large elementwise ops (parallel path) agree with the serial definition") {
    Tape tape;
    std::mt19937_64 rng(3);
    Tensor x = Tensor::randn({300, 400}, rng).requires_grad(true);
    Tensor y = sum(tanh(x) * x);
    y.backward();
    const Array& xv = x.value();
    const Array& g = x.grad();
    double expected = 0;
    for (int64_t i = 0; i < xv.numel(); ++i) {
      const double v = xv.at(i), t = std::tanh(v);
      expected += t * v;
      REQUIRE(g.at(i) == doctest::Approx(t + v * (1 - t * t)).epsilon(1e-12));
    }
    CHECK(y.item() == doctest::Approx(expected).epsilon(1e-10));
  }
}

TEST_CASE("retain_graph: a second backward from another root does not re-propagate the first") {
  Tape tape;
  Tensor a = Tensor::full({1}, 2.0).requires_grad(true), b = Tensor::full({1}, 3.0).requires_grad(true);
  Tensor fa = sum(square(a)), fb = sum(square(b));
  fa.backward({.retain_graph = true});
  fb.backward({.retain_graph = true});
  CHECK(a.grad().item() == 4.0);
  CHECK(b.grad().item() == 6.0);
  fa.backward();  // leaves accumulate
  CHECK(a.grad().item() == 8.0);
  CHECK(b.grad().item() == 6.0);
}

TEST_CASE("a temporary leaf used in an op stays alive until the tape is cleared") {
  Tape tape;
  Tensor w = Tensor::full({3}, 2.0).requires_grad(true);
  Tensor loss = sum(square(w - Tensor(Array::full({3}, 0.5))));  // the target leaf dies here
  loss.backward();                                               // but backward still reads it
  CHECK(w.grad().at(0) == 3.0);                                  // 2 (2 - 0.5)
}

TEST_CASE("on_grad_ready reports each parameter once, with its final gradient, as soon as the sweep is done with it") {
  Tape tape;
  Tensor x(Array({1, 2}, {0.5, -1.0}));
  Tensor w1 = Tensor(Array({2, 2}, {1, 2, 3, 4})).requires_grad(true);
  Tensor w2 = Tensor(Array({2, 1}, {-1, 2})).requires_grad(true);
  Tensor unused = Tensor::ones({3}).requires_grad(true);
  const Tensor h = tanh(matmul(x, w1));
  const Tensor loss = sum(matmul(h, w2) + matmul(h, w2));  // w2 read twice: reported after its first read
  std::vector<std::pair<const Array*, std::vector<double>>> reports;
  loss.backward({.on_grad_ready = [&](const Array& value, Array& grad) {
    std::vector<double> g;
    for (int64_t i = 0; i < grad.numel(); ++i) g.push_back(grad.at(i));
    reports.emplace_back(&value, g);
  }});
  REQUIRE(reports.size() == 2);            // `unused` is read by no node
  CHECK(reports[0].first == &w2.value());  // the last layer finishes first
  CHECK(reports[1].first == &w1.value());
  for (int i = 0; i < 2; ++i) {
    const Array& final_grad = (i == 0 ? w2 : w1).grad();
    REQUIRE(reports[static_cast<size_t>(i)].second.size() == static_cast<size_t>(final_grad.numel()));
    for (int64_t k = 0; k < final_grad.numel(); ++k)
      CHECK(reports[static_cast<size_t>(i)].second[k] == final_grad.at(k));
  }
  CHECK(w2.grad().at(0) != 0.0);
}

TEST_CASE("zero_grad: the next backward assigns the gradient, and reads in between see zeros") {
  // zero_grad() marks the gradient zero without writing it; every path that meets it next must act
  // as if it held zeros: a read, an op writing every element (assigns), an op writing some (the
  // rest zero), a retained recording swept again, a replay.
  Tape tape;
  Tensor w = Tensor(Array({3}, {1, 2, 3})).requires_grad(true);
  sum(w * w).backward();
  check_values(w.grad(), {2, 4, 6});
  w.zero_grad();
  sum(slice(w, 0, 0, 2)).backward();  // writes the first two elements only
  check_values(w.grad(), {1, 1, 0});
  w.zero_grad();
  check_values(w.grad(), {0, 0, 0});  // a read writes the zeros
  w.mutable_grad().fill(7.0);
  w.zero_grad();
  tape.clear();
  const Tensor y = sum(w * w);
  y.backward({.retain_graph = true});
  check_values(w.grad(), {2, 4, 6});
  y.backward({.retain_graph = true});  // accumulates
  check_values(w.grad(), {4, 8, 12});
  w.zero_grad();
  y.backward({.retain_graph = true});  // the retained recording, swept again after zero_grad
  check_values(w.grad(), {2, 4, 6});
  // matmul at batch 1: dB = A^T G is an outer product, assigned after zero_grad, added after that
  Tensor a(Array({1, 3}, {1, 2, 3}));
  Tensor b = Tensor(Array({3, 2}, {1, 1, 1, 1, 1, 1})).requires_grad(true);
  b.mutable_grad().fill(7.0);
  b.zero_grad();
  {
    Tape inner;
    sum(matmul(a, b)).backward();
    check_values(b.grad(), {1, 1, 2, 2, 3, 3});
    inner.clear();
    sum(matmul(a, b)).backward();
    check_values(b.grad(), {2, 2, 4, 4, 6, 6});
  }
  w.mutable_value().set(0, 5.0);
  w.zero_grad();
  tape.replay();
  y.backward();
  check_values(w.grad(), {10, 4, 6});
}

TEST_CASE("Array: copies and moves keep values, in its own 16 bytes and on the heap") {
  for (const Shape& shape : {Shape{2}, Shape{3}, Shape{2, 5}}) {  // 16 bytes of f64 inline; 24 and 80 not
    for (DType dtype : {DType::f64, DType::f32}) {
      CAPTURE(shape);
      CAPTURE(dtype_name(dtype));
      Array a(shape, dtype);
      for (int64_t i = 0; i < a.numel(); ++i) a.set(i, 0.5 + double(i));
      const Array copy(a);
      Array moved(std::move(a));
      CHECK(a.numel() == 1);  // a moved-from Array is a valid scalar, usable again
      a.resize(Shape{4}, DType::f64);
      a.fill(7.0);
      CHECK(a.at(3) == 7.0);
      Array assigned;
      assigned = std::move(moved);
      Array& self = assigned;
      assigned = std::move(self);
      Array copied;
      copied = copy;
      for (int64_t i = 0; i < copy.numel(); ++i) {
        CHECK(copy.at(i) == 0.5 + double(i));
        CHECK(assigned.at(i) == 0.5 + double(i));
        CHECK(copied.at(i) == 0.5 + double(i));
      }
      CHECK(assigned.shape() == shape);
      assigned.resize(Shape{64}, dtype);  // grows from inline to heap storage
      assigned.fill(1.0);
      CHECK(assigned.at(63) == 1.0);
    }
  }
}

namespace {
// y = x^2 (the output) and s = x^3 (the second output) in one op: dx = gy 2x + gs 3x^2.
struct SquareAndCube {
  Tensor y, s;
};
SquareAndCube square_and_cube(const Tensor& x) {
  OpRecord op("square_and_cube", {&x});
  const Array& xv = op.in(0);
  Array& y = op.output(xv.shape(), DType::f64);
  Array& s = op.second_output(xv.shape(), DType::f64);
  for (int64_t i = 0; i < xv.numel(); ++i) {
    y.set(i, xv.at(i) * xv.at(i));
    s.set(i, xv.at(i) * xv.at(i) * xv.at(i));
  }
  Tensor out = op.finish([](BackwardContext& c) {
    const Array& in = c.input(0);
    const Array& gy = c.grad_output();
    const Array& gs = c.grad_second_output();
    Array& gx = c.grad_input(0);
    for (int64_t i = 0; i < in.numel(); ++i)
      gx.set(i, gx.at(i) + gy.at(i) * 2 * in.at(i) + gs.at(i) * 3 * in.at(i) * in.at(i));
  });
  return {out, op.second()};
}
}  // namespace

TEST_CASE("an op with a second output: swept when either output has a gradient, both reach its input") {
  Tensor x(Array(Shape{2}, {1.5, -2.0}), true);
  const std::vector<double> a{0.5, -1.0}, b{2.0, 0.25};
  auto dot = [](const Tensor& t, const std::vector<double>& c) { return sum(t * Tensor(Array(Shape{2}, c))); };
  SUBCASE("both outputs used, the second through a further op") {
    Tape tape;
    const auto r = square_and_cube(x);
    (dot(r.y, a) + dot(r.s * 1.0, b)).backward();
    check_values(x.grad(), {0.5 * 2 * 1.5 + 2.0 * 3 * 2.25, -1.0 * 2 * -2.0 + 0.25 * 3 * 4.0});
    check_values(r.s.grad(), {2.0, 0.25});
  }
  SUBCASE("only the second output used: the first's gradient reads as zeros") {
    Tape tape;
    const auto r = square_and_cube(x);
    dot(r.s, b).backward();
    check_values(x.grad(), {2.0 * 3 * 2.25, 0.25 * 3 * 4.0});
  }
  SUBCASE("only the first output used") {
    Tape tape;
    const auto r = square_and_cube(x);
    dot(r.y, a).backward();
    check_values(x.grad(), {0.5 * 2 * 1.5, -1.0 * 2 * -2.0});
  }
  SUBCASE("a root after a sweep that needs the second output of a swept op is refused") {
    Tape tape;
    const auto r = square_and_cube(x);
    dot(r.y, a).backward();
    CHECK_THROWS_AS(dot(r.s, b).backward(), TapeError);
  }
  SUBCASE("second() of an op without one is an error") {
    Tape tape;
    OpRecord op("neg", {&x});
    op.output(Shape{2}, DType::f64).fill(0.0);
    (void)op.finish([](BackwardContext&) {});
    CHECK_THROWS_AS((void)op.second(), ValueError);
  }
}

namespace {
/// y = sum_i c_i x_i over inputs handed to OpRecord one by one (no list of them built).
Tensor weighted_sum(const std::vector<Tensor>& xs, const std::vector<double>& c) {
  OpRecord op("weighted_sum", xs.size(), [&](size_t i) -> const Tensor& { return xs[i]; });
  Array& y = op.output(Shape{1}, DType::f64);
  double s = 0;
  for (size_t i = 0; i < xs.size(); ++i) s += c[i] * op.in(i).at(0);
  y.set(0, s);
  const double* cs = op.save_for_backward(std::span<const double>(c));
  return op.finish([cs](BackwardContext& ctx) {
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const auto [value, grad] = ctx.input_and_grad(i);  // the one-lookup form agrees with the three calls
      CHECK(&value == &ctx.input(i));
      CHECK((grad != nullptr) == ctx.needs_grad(i));  // null for the detached input
      if (ctx.needs_grad(i)) {
        CHECK(grad == &ctx.grad_input(i));
        ctx.grad_input(i).set(0, ctx.grad_input(i).at(0) + cs[i] * ctx.grad_output().at(0));
      }
    }
  });
}
}  // namespace

namespace {
/// Which gradient buffers a backward found fresh, in sweep order.
struct FreshLog {
  std::vector<bool> second, input;
};
/// y = c x with x itself as a second output s (as the seed's neuron op keeps psi beside o): the
/// backward writes s's gradient (what reached s directly, plus c times y's) and x's (s's), through
/// the to-write forms, logging whether each buffer came fresh.
std::pair<Tensor, Tensor> scaled_with_copy(const Tensor& x, double c, FreshLog* log) {
  OpRecord op("scaled_with_copy", {&x});
  const int64_t n = x.numel();
  Array& y = op.output(Shape{n}, DType::f64);
  Array& s = op.second_output(Shape{n}, DType::f64);
  for (int64_t i = 0; i < n; ++i) {
    s.set(i, op.in(0).at(i));
    y.set(i, c * s.at(i));
  }
  const Tensor out = op.finish([c, n, log](BackwardContext& ctx) {
    const auto [gs, fresh_s] = ctx.grad_second_output_to_write();
    log->second.push_back(fresh_s);
    for (int64_t i = 0; i < n; ++i) gs.set(i, (fresh_s ? 0.0 : gs.at(i)) + c * ctx.grad_output().at(i));
    const auto [value, grad, fresh] = ctx.input_and_grad_to_write(0);
    CHECK(&value == &ctx.input(0));
    log->input.push_back(fresh);
    if (grad)
      for (int64_t i = 0; i < n; ++i) grad->set(i, (fresh ? 0.0 : grad->at(i)) + gs.at(i));
  });
  return {out, op.second()};
}
}  // namespace

TEST_CASE("the to-write forms of a second output's and an input's gradient: fresh at the first write only") {
  Tensor x(Array(Shape{2}, {1.0, -2.0}), true);
  Tape tape;
  FreshLog log;
  const Tensor h = x * 1.0;
  const auto [y1, s1] = scaled_with_copy(h, 2.0, &log);
  const auto [y2, s2] = scaled_with_copy(h, 3.0, &log);
  (sum(y1) + sum(y2) + 5.0 * sum(s2)).backward();
  // Swept last-recorded first: s2 had 5 directly (not fresh), 5 + 3 = 8, written fresh into h's
  // gradient; s1 had nothing directly (fresh): 2, added to h's 8.
  CHECK(log.second == std::vector<bool>{false, true});
  CHECK(log.input == std::vector<bool>{true, false});
  check_values(s2.grad(), {8, 8});
  check_values(s1.grad(), {2, 2});
  check_values(x.grad(), {10, 10});
}

TEST_CASE("OpRecord with inputs from a callable; after an input refused midway the recording goes on") {
  Tensor a(Array(Shape{1}, {2.0}), true), b(Array(Shape{1}, {-3.0}), true);
  Tensor f32(Array(Shape{1}, {1.0}, DType::f32), true);
  Tape tape;
  const Tensor y = weighted_sum({a, b, a.detach()}, {0.5, 4.0, 100.0});
  CHECK(y.value().at(0) == 1.0 - 12.0 + 200.0);
  CHECK_THROWS_AS((void)weighted_sum({a, b, f32}, {1.0, 1.0, 1.0}), ValueError);  // dtypes differ
  CHECK_THROWS_AS((void)weighted_sum({b, Tensor()}, {1.0, 1.0}), ValueError);     // undefined input
  // The refused ops recorded nothing: the next op reads its own inputs and sweeps to the leaves.
  const Tensor z = weighted_sum({b, y}, {1.0, 2.0});
  z.backward();
  CHECK(a.grad().at(0) == 2.0 * 0.5);  // not through the detached copy
  CHECK(b.grad().at(0) == 1.0 + 2.0 * 4.0);
}

TEST_CASE("Arena: aligned, disjoint allocations across blocks; reset hands out the same memory again") {
  detail::Arena arena;
  // Sizes and alignments of closures and stashed lists, with one larger than a block (64 KiB).
  const std::vector<std::pair<size_t, size_t>> requests = {{24, 8}, {1, 1},   {40, 16}, {3, 2},    {100000, 8},
                                                           {8, 8},  {64, 64}, {7, 1},   {5000, 32}};
  std::vector<std::pair<std::byte*, size_t>> first;
  for (int round = 0; round < 40; ++round)  // 40 rounds: several blocks of 64 KiB
    for (auto [bytes, align] : requests) {
      auto* p = static_cast<std::byte*>(arena.allocate(bytes, align));
      REQUIRE(p != nullptr);
      CHECK(reinterpret_cast<uintptr_t>(p) % align == 0);
      std::memset(p, round & 0xff, bytes);  // ASan: the whole range is ours
      first.emplace_back(p, bytes);
    }
  std::vector<std::pair<std::byte*, size_t>> sorted = first;  // no two ranges overlap
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < sorted.size(); ++i) CHECK(sorted[i - 1].first + sorted[i - 1].second <= sorted[i].first);
  arena.reset();  // the same sequence again: the same addresses (a warm tape allocates nothing)
  size_t k = 0;
  for (int round = 0; round < 40; ++round)
    for (auto [bytes, align] : requests) CHECK(arena.allocate(bytes, align) == first[k++].first);
}

// Issue 20, item 7: log_softmax keeps log(sum) apart from the max, as PyTorch does.
TEST_CASE("softmax and log_softmax are exact for huge logits, in float32 and float64") {
  Tape tape;
  const Tensor f32(Array({2}, {1e8, 1e8}, DType::f32));
  check_values(softmax(f32).value(), {0.5, 0.5});
  check_values(log_softmax(f32).value(), {-std::log(2.0), -std::log(2.0)}, 1e-7);
  check_values(log_softmax(Tensor(Array({2}, {-1e30, -1e30}))).value(), {-std::log(2.0), -std::log(2.0)}, 1e-15);
  check_values(softmax(Tensor(Array({3}, {1e300, 1e300, -1e300}))).value(), {0.5, 0.5, 0.0});
}

// Issue 20, item 8: NaN propagates through every op, as in NumPy and PyTorch.
TEST_CASE("NaN propagates through relu, max/min reductions, maximum/minimum, softmax; anomaly mode flags it") {
  Tape tape;
  const double nan = std::nan("");
  const Tensor x(Array({3}, {1.0, nan, 2.0}));
  CHECK(std::isnan(relu(Tensor(Array::scalar(nan))).item()));
  CHECK(std::isnan(max(x).item()));
  CHECK(std::isnan(min(x).item()));
  CHECK(std::isnan(max(Tensor(Array({2}, {nan, nan}))).item()));
  CHECK(std::isnan(max(Tensor(Array({2}, {nan, 1.0}))).item()));
  CHECK(std::isnan(logsumexp(x).item()));
  const Tensor one = Tensor::full({3}, 1.0);
  const Array mx = maximum(one, x).value(), mn = minimum(x, one).value();
  CHECK(std::isnan(mx.at(1)));
  CHECK(std::isnan(mn.at(1)));
  CHECK(std::isnan(maximum(x, one).value().at(1)));
  const Array s = softmax(x).value();
  for (int64_t i = 0; i < 3; ++i) CHECK(std::isnan(s.at(i)));
  Var a = nan, b = 1.0;
  CHECK(std::isnan(Var(max(b, a)).value()));
  CHECK(std::isnan(Var(min(a, b)).value()));
  CHECK(std::isnan(Var(relu(a)).value()));
  AnomalyGuard anomaly;
  CHECK_THROWS_AS((void)relu(Tensor(Array::scalar(nan), true)), NumericError);
  CHECK_THROWS_AS((void)max(Tensor(Array({2}, {nan, 1.0}), true)), NumericError);
}
