// GradBench's saddle eval (Siskind and Pearlmutter's): the saddle point of
// f(x, y) = |x|^2 - |y|^2 (x, y in R^2) by gradient descent (descent.hpp), all from the
// input's start: x* = argmin_x max_y f(x, y), then y* = argmax_y f(x*, y); the output is
// (x*, y*). Nested AD: the outer descent differentiates max_y f(x, y), which the inner descent
// finds with gradients of its own.
//
// The function's two letters name the outer mode (the gradient in x) and the inner one (the
// gradient in y):
// - "ff": forward over forward: two passes of the inner ascent on duals along each coordinate of
//   x (math::Dual), its gradients in y from two forward passes on duals of those, no tape.
// - "fr": forward over reverse: two jvps of the inner ascent, whose gradients in y are reverse-mode
//   gradients (tapegrad::gradient inside jvp) carrying their tangents.
// - "rf": reverse over forward: the inner ascent on the scalar tape (Var), its gradients in y from
//   forward passes on duals of Vars, then one reverse sweep.
// - "rr": reverse over reverse: the same, its gradients in y nested reverse-mode gradients over Vars
//   (math::reverse_gradient), whose sweeps the tape records.
#include <array>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "descent.hpp"
#include "tool.hpp"

namespace {

using gradbench_tool::json;
using tapegrad::Var;
using tapegrad::math::BasicDual;
using tapegrad::math::Dual;
using tapegrad::math::Reverse;

template <class T>
using Point = std::vector<T>;

// f(x, y) = |x|^2 - |y|^2, for any number type T.
template <class T>
T f(const T& x0, const T& x1, const T& y0, const T& y1) {
  return (x0 * x0 + x1 * x1) - (y0 * y0 + y1 * y1);
}

// grad_y f by reverse mode: the gradient in v = {y_0, y_1, x_0, x_1} (tapegrad::gradient; inside
// jvp its y part carries d/dx through x's tangents), its y part.
Point<Var> grad_y_reverse(std::span<const Var> x, const Point<Var>& y) {
  const std::array<Var, 4> at{y[0], y[1], x[0], x[1]};
  std::vector<Var> g = tapegrad::gradient([](std::span<const Var> v) { return f(v[2], v[3], v[0], v[1]); }, at);
  g.resize(2);
  return g;
}

// grad_y f by forward mode: two passes, along y_0 and y_1, on duals of T.
struct ForwardGradY {
  template <class T>
  Point<T> operator()(std::span<const T> x, const Point<T>& y) const {
    using D = BasicDual<T>;
    return {f(D(x[0]), D(x[1]), D(y[0], T(1.0)), D(y[1])).t, f(D(x[0]), D(x[1]), D(y[0]), D(y[1], T(1.0))).t};
  }
};

// grad_y f by nested reverse mode over T (math::reverse_gradient; on Vars its sweep is recorded).
struct ReverseGradY {
  template <class T>
  Point<T> operator()(std::span<const T> x, const Point<T>& y) const {
    return tapegrad::math::reverse_gradient<T>(
        [x](std::span<const Reverse<T>> v) { return f(Reverse<T>(x[0]), Reverse<T>(x[1]), v[0], v[1]); },
        std::span<const T>(y));
  }
};

// argmax_y f(x, y) from start, the gradient in y from grad_y(x, y).
template <class T, class GradY>
Point<T> argmax_y(std::span<const T> x, const Point<double>& start, const GradY& grad_y) {
  return gradbench_tool::argmax(
      Point<T>(start.begin(), start.end()), [x](const Point<T>& y) { return f(x[0], x[1], y[0], y[1]); },
      [x, &grad_y](const Point<T>& y) { return grad_y(x, y); });
}

// max_y f(x, y), the outer objective.
template <class T, class GradY>
T max_f(std::span<const T> x, const Point<double>& start, const GradY& grad_y) {
  const Point<T> y = argmax_y(x, start, grad_y);
  return f(x[0], x[1], y[0], y[1]);
}

// The outer objective's value and gradient in x of each nesting.
struct ForwardOverForward {
  static double value(const Point<double>& x, const Point<double>& start) {
    return max_f<double>(x, start, ForwardGradY{});
  }
  static Point<double> gradient(const Point<double>& x, const Point<double>& start) {
    Point<double> g(2);
    for (size_t i = 0; i < 2; ++i) {  // one pass along each coordinate of x
      const Point<Dual> xd{Dual(x[0], i == 0), Dual(x[1], i == 1)};
      g[i] = max_f<Dual>(xd, start, ForwardGradY{}).t;
    }
    return g;
  }
};

struct ForwardOverReverse {
  static double value(const Point<double>& x, const Point<double>& start) {
    tapegrad::NoGradGuard constants;  // nothing records: Vars are constants
    const Point<Var> x_var(x.begin(), x.end());
    return max_f<Var>(x_var, start, grad_y_reverse).value();
  }
  static Point<double> gradient(const Point<double>& x, const Point<double>& start) {
    const tapegrad::VarFunction outer = [&start](std::span<const Var> at) { return max_f(at, start, grad_y_reverse); };
    return {tapegrad::jvp(outer, x, Point<double>{1.0, 0.0}).tangent,
            tapegrad::jvp(outer, x, Point<double>{0.0, 1.0}).tangent};
  }
};

// Reverse over the inner gradient's mode ("rf", "rr"): the inner ascent recorded on the program's
// tape (cleared each time, its memory kept), one sweep.
template <class GradY>
struct ReverseOver {
  static double value(const Point<double>& x, const Point<double>& start) { return max_f<double>(x, start, GradY{}); }
  Point<double> gradient(const Point<double>& x, const Point<double>& start) const {
    return gradbench_tool::tape_gradient(tape, x,
                                         [&start](const Point<Var>& at) { return max_f<Var>(at, start, GradY{}); });
  }
  mutable tapegrad::Tape tape;
};

// One program: x* from the start with the nesting's objective and gradient, then y* at x*.
template <class Nesting>
struct Saddle {
  using Output = std::vector<double>;
  Point<double> start;
  Nesting nesting;
  explicit Saddle(const json& input) : start(input.at("start").get<Point<double>>()) {
    if (start.size() != 2) throw std::invalid_argument("saddle: start must hold 2 values");
  }
  void compute(std::vector<double>& out) const {
    const Point<double> x = gradbench_tool::argmin(
        start, [this](const Point<double>& at) { return Nesting::value(at, start); },
        [this](const Point<double>& at) { return nesting.gradient(at, start); });
    const Point<double> y = argmax_y<double>(x, start, ForwardGradY{});
    out = {x[0], x[1], y[0], y[1]};
  }
};

}  // namespace

int main(int argc, char** argv) {
  return gradbench_tool::nested_tool_main<Saddle<ForwardOverForward>, Saddle<ForwardOverReverse>,
                                          Saddle<ReverseOver<ForwardGradY>>, Saddle<ReverseOver<ReverseGradY>>>(argc,
                                                                                                                argv);
}
