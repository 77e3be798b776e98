// Bad input and misuse: each gets a clear error of the right type that names what went wrong.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <thread>
#include <utility>

#include "autodiff/autodiff.hpp"
#include "support/check.hpp"

using namespace tapegrad;
using test::contains;
using test::message_of;

TEST_SUITE("errors") {
  TEST_CASE("matmul shape errors name the op and both shapes") {
    Tape tape;
    Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
    const auto msg = message_of<ShapeError>([&] { (void)matmul(a, b); });
    CHECK(contains(msg, "matmul"));
    CHECK(contains(msg, "[2, 3]"));
    CHECK(contains(msg, "[4, 5]"));
  }

  TEST_CASE("broadcast errors name the op and both shapes") {
    Tape tape;
    const auto msg = message_of<ShapeError>([&] { (void)(Tensor::zeros({2, 3}) * Tensor::zeros({4})); });
    CHECK(contains(msg, "mul"));
    CHECK(contains(msg, "[2, 3]"));
    CHECK(contains(msg, "[4]"));
  }

  TEST_CASE("backward twice without retain_graph is explained") {
    Tape tape;
    Var x = 2.0;
    Var f = x * x;
    f.backward();
    CHECK(contains(message_of<TapeError>([&] { f.backward(); }), "retain_graph"));

    Tensor w = Tensor::ones({2}).requires_grad(true);
    Tensor loss = sum(w * w);
    loss.backward();
    CHECK(contains(message_of<TapeError>([&] { loss.backward(); }), "retain_graph"));
  }

  TEST_CASE("a root recorded after a sweep is swept on its own; one that needs the swept part is refused") {
    Tape tape;
    Var x = 2.0;
    Var f = x * x;  // df/dx = 4
    f.backward();
    Var h = x * x * x;  // a new root over the leaf only: dh/dx = 12, accumulated as in PyTorch
    h.backward();
    CHECK(x.grad() == 16.0);
    CHECK(f.grad() == 1.0);  // the first sweep's gradients stay readable
    Var k = f * 3.0;         // needs f's part of the recording, already swept
    CHECK(contains(message_of<TapeError>([&] { k.backward(); }), "retain_graph"));
    CHECK(x.grad() == 16.0);  // refused before changing anything
    Var m = sin(x);
    m.backward();  // still allowed after the refusal
    CHECK(x.grad() == doctest::Approx(16.0 + std::cos(2.0)).epsilon(1e-15));

    Tensor w = Tensor(Array({2}, {1.0, -3.0})).requires_grad(true);
    Tensor loss1 = sum(w * w);  // 2w
    loss1.backward();
    Tensor loss2 = sum(exp(w));  // exp(w), from the leaf only
    loss2.backward();
    CHECK(w.grad().at(0) == doctest::Approx(2.0 + std::exp(1.0)).epsilon(1e-15));
    CHECK(w.grad().at(1) == doctest::Approx(-6.0 + std::exp(-3.0)).epsilon(1e-15));
    Tensor loss3 = sum(loss1 * 2.0);  // through loss1's swept part
    CHECK(contains(message_of<TapeError>([&] { loss3.backward(); }), "retain_graph"));
    CHECK(w.grad().at(0) == doctest::Approx(2.0 + std::exp(1.0)).epsilon(1e-15));  // untouched
    Tensor loss4 = sum(w * loss1.detach());  // a stopped gradient does not reach the swept part
    loss4.backward();
    CHECK(w.grad().at(0) == doctest::Approx(2.0 + std::exp(1.0) + 10.0).epsilon(1e-15));
  }

  TEST_CASE("generations do not wrap at 2^32: Vars stay variables, stale handles stay detected") {
    detail::set_next_generation((Generation{1} << 32) - 2);  // where a 32-bit counter handed out 0
    Tape tape;
    Var x = 3.0;
    Var stale = x * x;
    for (int round = 0; round < 4; ++round) {
      tape.clear();
      CHECK(tape.generation() != 0);
      Var y = 2.0;
      Var f = y * y * y;
      CHECK(!f.is_constant());
      f.backward();
      CHECK(y.grad() == 12.0);
      CHECK_THROWS_AS(Var(stale + 1.0), TapeError);
      Tensor w = Tensor::ones({2}).requires_grad(true);
      sum(w * w).backward();
      CHECK(w.grad().at(0) == 2.0);
    }
    CHECK(tape.generation() > (Generation{1} << 32));
  }

  TEST_CASE("a handle from a cleared tape is detected") {
    Tape tape;
    Var x = 1.0;
    Var f = x * 2.0;
    Tensor w = Tensor::ones({2}).requires_grad(true);
    Tensor y = w * 2.0;
    tape.clear();
    CHECK(contains(message_of<TapeError>([&] { (void)Var(f * 3.0); }), "cleared tape"));
    CHECK(contains(message_of<TapeError>([&] { (void)y.value(); }), "cleared tape"));
    CHECK(contains(message_of<TapeError>([&] { (void)(y + w); }), "cleared tape"));
    // leaves (parameters) outlive clear()
    Tensor z = sum(w * 3.0);
    z.backward();
    CHECK(w.grad().at(1) == 3.0);
  }

  TEST_CASE("a handle from another tape is detected") {
    Tape outer;
    Var a = 1.0;
    Tensor t = Tensor::ones({2}).requires_grad(true) * 2.0;
    Tape inner;
    CHECK(contains(message_of<TapeError>([&] { (void)Var(a * 2.0); }), "another tape"));
    CHECK(contains(message_of<TapeError>([&] { (void)(t * 2.0); }), "another tape"));
  }

  TEST_CASE("backward from a non-scalar tensor needs a seed") {
    Tape tape;
    Tensor w = Tensor::ones({2, 3}).requires_grad(true);
    Tensor y = w * 2.0;
    const auto msg = message_of<TapeError>([&] { y.backward(); });
    CHECK(contains(msg, "[2, 3]"));
    CHECK(contains(msg, "seed"));
    y.backward(Array::full({2, 3}, 1.0), {.retain_graph = true});
    CHECK(w.grad().at(4) == 2.0);
    CHECK_THROWS_AS(y.backward(Array::full({3}, 1.0)), ShapeError);
  }

  TEST_CASE("no active tape") {
    CHECK(contains(message_of<TapeError>([] { (void)Var(1.0); }), "no active tape"));
    Tensor w = Tensor::ones({2});
    CHECK(contains(message_of<TapeError>([&] { (void)(w * 2.0); }), "no active tape"));
  }

  TEST_CASE("invalid axis") {
    Tape tape;
    Tensor x = Tensor::zeros({2, 3});
    const auto msg = message_of<ShapeError>([&] { (void)sum(x, {2}); });
    CHECK(contains(msg, "sum"));
    CHECK(contains(msg, "axis 2"));
    CHECK_THROWS_AS((void)softmax(x, -3), ShapeError);
    CHECK_THROWS_AS((void)transpose(x, 0, 5), ShapeError);
  }

  TEST_CASE("reshape to a different size") {
    Tape tape;
    Tensor x = Tensor::zeros({2, 3});
    const auto msg = message_of<ShapeError>([&] { (void)reshape(x, {4}); });
    CHECK(contains(msg, "reshape"));
    CHECK(contains(msg, "[2, 3]"));
    CHECK(contains(msg, "[4]"));
  }

  TEST_CASE("mixed float/double operands") {
    Tape tape;
    Tensor a = Tensor::zeros({2}, DType::f32), b = Tensor::zeros({2}, DType::f64);
    const auto msg = message_of<ValueError>([&] { (void)(a + b); });
    CHECK(contains(msg, "add"));
    CHECK(contains(msg, "float32"));
    CHECK(contains(msg, "float64"));
  }

  TEST_CASE("index out of range and bad hyperparameters") {
    Tape tape;
    Tensor x = Tensor::zeros({2, 3});
    const std::vector<int64_t> idx{0, 3};
    CHECK(contains(message_of<ValueError>([&] { (void)index_select(x, 1, idx); }), "index 3"));
    CHECK_THROWS_AS((void)clamp(x, 1.0, -1.0), ValueError);
    CHECK_THROWS_AS((void)slice(x, 1, 2, 1), ValueError);
  }

  TEST_CASE("only leaves can be made parameters or changed in place") {
    Tape tape;
    Tensor y = Tensor::ones({2}) * 2.0;
    CHECK_THROWS_AS(y.requires_grad(true), ValueError);
    CHECK_THROWS_AS(y.mutable_value(), ValueError);
  }

  TEST_CASE("anomaly mode names the first op with a non-finite value or gradient") {
    Tape tape;
    AnomalyGuard anomaly;
    Var x = 0.0;
    CHECK(contains(message_of<NumericError>([&] { (void)Var(exp(log(x)) * 2.0); }), "'log'"));
    tape.clear();
    Var w = 0.0;
    Var r = sqrt(w * w + 0.0 * w);  // value 0, d sqrt = 1/(2*0) = inf on the way back
    CHECK(contains(message_of<NumericError>([&] { r.backward(); }), "sqrt"));

    Tensor t = Tensor::full({3}, -1.0).requires_grad(true);
    CHECK(contains(message_of<NumericError>([&] { (void)log(t); }), "'log'"));
    Tensor u = Tensor::zeros({3}).requires_grad(true);
    Tensor v = sum(sqrt(u));
    CHECK(contains(message_of<NumericError>([&] { v.backward(); }), "'sqrt'"));
  }

  TEST_CASE("anomaly mode ignores a non-finite partial toward a constant operand (it is nobody's gradient)") {
    Tape tape;
    AnomalyGuard anomaly;
    Var c;
    {
      NoGradGuard no_grad;
      c = Var(1e-200);
    }
    Var x = 1e200;
    Var y = c * x;      // 1; dy/dc = x = 1e200, which times the incoming 1e300 overflows, into the sink
    Var z = y * 1e300;  // finite forward
    z.backward();
    CHECK(x.grad() == doctest::Approx(1e100).epsilon(1e-12));  // dz/dx = 1e-200 * 1e300
  }

  TEST_CASE("without anomaly mode non-finite values propagate as values") {
    Tape tape;
    Var x = 0.0;
    Var f = log(x);
    CHECK(std::isinf(f.value()));
  }
}

// Issue 9, items 1 and 6.
TEST_CASE("shapes whose element count overflows are refused, huge allocations name shape and bytes") {
  Tape tape;
  CHECK_THROWS_AS(reshape(Tensor::full({4}, 7.0), {(int64_t{1} << 62) + 1, 4}), ShapeError);
  CHECK_THROWS_AS(Tensor::zeros({int64_t{1} << 61, 4}), ShapeError);
  CHECK_THROWS_AS(Shape({int64_t{1} << 32, int64_t{1} << 32}), ShapeError);
  try {
    (void)Tensor::zeros({int64_t{1} << 50});  // 8 PiB: no machine has it
    FAIL("an 8 PiB allocation succeeded");
  } catch (const ShapeError&) {
    FAIL("a valid shape was refused");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("9007199254740992 bytes for shape [1125899906842624]") != std::string::npos);
  }
}

TEST_CASE("kinks get the subgradient 0, as PyTorch: pow(x, 0) at 0, atan2 and hypot at (0, 0)") {
  Tape tape;
  Var x = 0.0, z = 0.0;
  Var p = pow(x, 0.0);
  Var h = hypot(x, z);
  Var a = atan2(x, z);
  Var total = p + h + a;
  total.backward();
  CHECK(x.grad() == 0.0);
  CHECK(z.grad() == 0.0);
  Tensor t = Tensor::zeros({2}).requires_grad(true);
  Tensor e = Tensor::zeros({2});
  Tensor s = sum(pow(t, 0.0)) + sum(pow(t, e));
  s.backward();
  CHECK(t.grad().at(0) == 0.0);
  CHECK(t.grad().at(1) == 0.0);
}

// Issue 9, item 3: a parameter shared by two threads' tapes.
TEST_CASE("a leaf in one thread's live recording is refused by another thread's tape, then free again") {
  Tensor w = Tensor::full({3}, 2.0).requires_grad(true);
  std::atomic<int> stage{0};
  std::string other_error;
  bool other_ok_later = false;
  std::thread other([&] {
    while (stage.load() != 1) std::this_thread::yield();
    {
      Tape tape;
      try {
        (void)sum(w * w);
      } catch (const TapeError& e) {
        other_error = e.what();
      }
    }
    stage.store(2);
    while (stage.load() != 3) std::this_thread::yield();
    Tape tape;
    Tensor loss = sum(w * 3.0);  // the main thread's recording has ended: allowed now
    loss.backward();
    other_ok_later = true;
  });
  {
    Tape tape;
    Tensor loss = sum(w * w);  // records w on this thread
    stage.store(1);
    while (stage.load() != 2) std::this_thread::yield();
    loss.backward();
  }  // the tape ends: w is free
  stage.store(3);
  other.join();
  CHECK(other_error.find("another thread's recording") != std::string::npos);
  CHECK(other_ok_later);
  CHECK(w.grad().at(0) == doctest::Approx(2 * 2.0 + 3.0));  // 2w from here, 3 from the other thread
}

TEST_CASE("nested tapes on one thread may record the same leaf") {
  Tensor w = Tensor::full({2}, 1.5).requires_grad(true);
  Tape outer;
  Tensor a = sum(w * w);
  {
    Tape inner;
    Tensor b = sum(w * 2.0);
    b.backward();
  }
  a.backward();
  CHECK(w.grad().at(0) == doctest::Approx(2.0 + 3.0));
}

// Issue 9, item 12: what the README says of scalars after clear() is what happens.
TEST_CASE("after tape.clear(): a Var keeps its number, but its gradient and new ops on it throw") {
  Tape tape;
  Var x = 1.5, y = -0.5;
  Var f = sin(x) * y;
  const double value = f.value();
  f.backward();
  tape.clear();
  CHECK(f.value() == value);
  CHECK_THROWS_AS((void)x.grad(), TapeError);
  CHECK_THROWS_AS(f.backward(), TapeError);
  const std::string message = test::message_of<TapeError>([&] { (void)Var(x * 2.0); });
  CHECK(message.find("make new Vars after tape.clear()") != std::string::npos);
  Var x2 = 1.5;  // a new leaf works
  Var g = x2 * 2.0;
  g.backward();
  CHECK(x2.grad() == 2.0);
}

// Issue 9, item 13.
TEST_CASE("an op result used after its tape was destroyed raises TapeError instead of reading freed memory") {
  Tensor kept;
  {
    Tape tape;
    kept = Tensor::full({3}, 2.0) * 3.0;
  }
  CHECK(test::contains(test::message_of<TapeError>([&] { (void)kept.value(); }), "no longer exists"));
  {
    Tape recording;  // an op reading it (without asking for its value first) is refused too
    CHECK_THROWS_AS((void)(kept * 2.0), TapeError);
  }
  Tape other;  // a new tape, possibly at the same address: still refused
  CHECK_THROWS_AS((void)kept.value(), TapeError);
  CHECK_THROWS_AS((void)kept.grad(), TapeError);
}

// Issue 20, item 1: a leaf changed between recording and backward is refused, never read.
TEST_CASE("a leaf whose shape or dtype changed after it was recorded is refused with TapeError") {
  std::mt19937_64 rng(1);
  SUBCASE("shrunk through mutable_value() before backward") {
    Tape tape;
    Tensor w = Tensor::randn({64, 64}, rng).requires_grad(true);
    Tensor x = Tensor::randn({8, 64}, rng);
    Tensor loss = sum(matmul(x, w));
    w.mutable_value().resize(Shape{2, 2}, DType::f64);
    const std::string message = test::message_of<TapeError>([&] { loss.backward(); });
    CHECK(test::contains(message, "matmul"));
    CHECK(test::contains(message, "[64, 64] float64"));
    CHECK(test::contains(message, "now [2, 2] float64"));
  }
  SUBCASE("converted to float32 before backward") {
    Tape tape;
    Tensor w = Tensor::randn({4, 3}, rng).requires_grad(true);
    Tensor loss = sum(tanh(w));
    w.mutable_value() = Array(w.shape(), DType::f32);
    const std::string message = test::message_of<TapeError>([&] { loss.backward(); });
    CHECK(test::contains(message, "tanh"));
    CHECK(test::contains(message, "now [4, 3] float32"));
  }
  SUBCASE("converted between two ops of one recording") {
    Tape tape;
    Tensor w = Tensor::randn({5}, rng).requires_grad(true);
    Tensor y = exp(w);
    w.mutable_value() = Array(w.shape(), DType::f32);
    CHECK(test::contains(test::message_of<TapeError>([&] { (void)(y * w); }), "changed after it was recorded"));
  }
  SUBCASE("an unchanged leaf, and the same leaf recorded afresh after clear(), work") {
    Tape tape;
    Tensor w = Tensor::randn({3}, rng).requires_grad(true);
    Tensor loss = sum(square(w));
    w.mutable_value().fill(1.0);  // new values of the same shape and dtype: allowed (as PyTorch's
    loss.backward();              // leaves without version counters); the gradient reads them
    CHECK(w.grad().to_vector() == std::vector<double>{2.0, 2.0, 2.0});
    tape.clear();
    w.mutable_value() = Array(Shape{2}, DType::f32);
    w.zero_grad();
    Tensor again = sum(w * 3.0);
    again.backward();
    CHECK(w.grad().to_vector() == std::vector<double>{3.0, 3.0});
  }
}

// Issue 20, item 21.
TEST_CASE("randn and uniform refuse negative, NaN or infinite scales and reversed bounds") {
  std::mt19937_64 rng(2);
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  for (double stddev : {-1.0, nan, inf})
    CHECK(test::contains(test::message_of<ValueError>([&] { (void)Tensor::randn({2}, rng, DType::f64, stddev); }),
                         "randn: stddev must be finite and >= 0"));
  for (const auto& bounds : {std::pair{1.0, 0.0}, std::pair{nan, 1.0}, std::pair{0.0, inf}, std::pair{-1e308, 1e308}})
    CHECK(test::contains(
        test::message_of<ValueError>([&] { (void)Tensor::uniform({2}, rng, bounds.first, bounds.second); }),
        "uniform: need finite bounds lo <= hi"));
  CHECK(Tensor::randn({3}, rng, DType::f64, 0.0).value().to_vector() == std::vector<double>{0, 0, 0});
  CHECK(Tensor::uniform({2}, rng, 2.0, 2.0).value().to_vector() == std::vector<double>{2, 2});
}

// Issue 20, item 20: the tape's own thread kept a dangling active-tape pointer (a segfault at its
// next op). Now the program stops at the destruction, with a message; checked in a child process.
TEST_CASE("a Tape destroyed on another thread ends the program with a message, before any dangling use") {
#if defined(__SANITIZE_THREAD__)
  MESSAGE("skipped under ThreadSanitizer: it does not start threads in a child forked from a threaded process");
  return;
#endif
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(pipe_fds[1], 2);
    try {
      auto* tape = new Tape;
      std::thread([tape] { delete tape; }).join();
      Var x = 1.0;  // reached only if the destruction did not stop the program
      (void)x;
    } catch (...) {
      ::_exit(2);  // never return into the test runner from the child
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string err;
  char buffer[256];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0;) err.append(buffer, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  CHECK(test::contains(err, "a Tape was destroyed on a thread other than the one that made it"));
}
