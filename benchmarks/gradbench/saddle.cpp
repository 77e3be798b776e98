// GradBench's saddle eval (Siskind and Pearlmutter's): the saddle point of
// f(x, y) = |x|^2 - |y|^2 (x, y in R^2) by gradient descent (descent.hpp), all from the
// input's start: x* = argmin_x max_y f(x, y), then y* = argmax_y f(x*, y); the output is
// (x*, y*). Nested AD: the outer descent differentiates max_y f(x, y), which the inner descent
// finds with gradients of its own.
//
// tapegrad does one nesting, forward over reverse, so "fr" is the one function this program has:
// each outer gradient is two jvps (forward mode, along each coordinate of x) of the inner
// ascent, whose gradients in y are reverse-mode gradients (tapegrad::gradient inside jvp) carrying
// their tangents. "ff", "rf" and "rr" exit 1 saying they are not supported.
#include <array>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "descent.hpp"
#include "tool.hpp"

namespace {

using gradbench_tool::json;
using tapegrad::Var;

// f at v = {y_0, y_1, x_0, x_1}: y first, the variables of the inner ascent.
Var f(std::span<const Var> v) { return (v[2] * v[2] + v[3] * v[3]) - (v[0] * v[0] + v[1] * v[1]); }

// argmax_y f(x, y) from start, for x of doubles (constants) or Vars carrying tangents in x. The
// gradient in y is taken in (y, x), so its y part carries d/dx of it through x's tangents.
std::vector<Var> argmax_y(std::span<const Var> x, const std::vector<Var>& start) {
  const auto at = [x](const std::vector<Var>& y) { return std::array<Var, 4>{y[0], y[1], x[0], x[1]}; };
  return gradbench_tool::argmax(
      start, [&at](const std::vector<Var>& y) { return f(at(y)); },
      [&at](const std::vector<Var>& y) {
        std::vector<Var> g = tapegrad::gradient(f, at(y));
        g.resize(2);
        return g;
      });
}

struct ForwardOverReverse {
  using Output = std::vector<double>;
  std::vector<double> start;
  explicit ForwardOverReverse(const json& input) : start(input.at("start").get<std::vector<double>>()) {
    if (start.size() != 2) throw std::invalid_argument("saddle: start must hold 2 values");
  }
  // max_y f(x, y), the outer objective, as a Var of whatever records (jvp's recording, or none).
  Var max_f(std::span<const Var> x) const {
    const std::vector<Var> y_start(start.begin(), start.end());
    const std::vector<Var> y = argmax_y(x, y_start);
    return f(std::array<Var, 4>{y[0], y[1], x[0], x[1]});
  }
  std::vector<double> constant_argmax_y(const std::vector<double>& x) const {
    tapegrad::NoGradGuard constants;  // nothing records: Vars are constants
    const std::vector<Var> x_var(x.begin(), x.end()), y_start(start.begin(), start.end());
    const std::vector<Var> y = argmax_y(x_var, y_start);
    return {y[0].value(), y[1].value()};
  }
  void compute(std::vector<double>& out) const {
    const tapegrad::VarFunction outer = [this](std::span<const Var> x) { return max_f(x); };
    const auto value = [&outer](const std::vector<double>& x) {
      tapegrad::NoGradGuard constants;
      const std::vector<Var> x_var(x.begin(), x.end());
      return outer(x_var).value();
    };
    const auto gradient = [&outer](const std::vector<double>& x) {  // one jvp per coordinate
      return std::vector<double>{tapegrad::jvp(outer, x, std::vector<double>{1.0, 0.0}).tangent,
                                 tapegrad::jvp(outer, x, std::vector<double>{0.0, 1.0}).tangent};
    };
    const std::vector<double> x = gradbench_tool::argmin(start, value, gradient);
    const std::vector<double> y = constant_argmax_y(x);
    out = {x[0], x[1], y[0], y[1]};
  }
};

}  // namespace

int main(int argc, char** argv) { return gradbench_tool::nested_tool_main<ForwardOverReverse>(argc, argv); }
