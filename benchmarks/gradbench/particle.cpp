// GradBench's particle eval (Siskind and Pearlmutter's charged particle): a particle starts at
// (0, 8) with velocity (0.75, 0) in the field of unit charges at (10, 10 - w) and (10, 0); Euler
// steps of 0.1 follow it, its acceleration the negative gradient of the potential
// p(x; w) = sum_charges 1 / |x - charge|, until it crosses the x axis, where x_0(t_f)^2 is its
// miss. The output is the w that gradient descent (descent.hpp) finds for the least miss, from the
// input's w. Nested AD: the objective contains a gradient.
//
// tapegrad does one nesting, forward over reverse, so "fr" is the one function this program has:
// the miss's derivative in w is a jvp (forward mode) of the simulation, in which every step's
// force is a reverse-mode gradient (tapegrad::gradient inside jvp) that carries its tangent.
// "ff", "rf" and "rr" need forward over forward or reverse over reverse, which tapegrad does not
// do: they exit 1 saying so.
#include <array>
#include <cmath>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "descent.hpp"
#include "tool.hpp"

namespace {

using gradbench_tool::json;
using tapegrad::Var;

// The potential at x of the charges at (10, 10 - w) and (10, 0): v = {x_0, x_1, w}.
Var potential(std::span<const Var> v) {
  const std::array<Var, 2> charge_y{10.0 - v[2], 0.0};
  Var p = 0.0;
  for (const Var& y : charge_y) p = p + 1.0 / sqrt((v[0] - 10.0) * (v[0] - 10.0) + (v[1] - y) * (v[1] - y));
  return p;
}

// x_0(t_f)^2 for the control w (w[0]). Its Vars are constants when nothing records, or carry
// tangents in w inside jvp; the force, -grad_x p, is then a nested gradient in (x, w) whose x part
// carries d force / dw.
Var miss(std::span<const Var> w) {
  const double dt = 0.1;
  Var x0 = 0.0, x1 = 8.0, v0 = 0.75, v1 = 0.0;
  for (;;) {
    const std::array<Var, 3> at{x0, x1, w[0]};
    const std::vector<Var> grad_p = tapegrad::gradient(potential, at);
    x0 = x0 + dt * v0;
    x1 = x1 + dt * v1;
    if (x1 <= 0.0) {  // crossed the axis in this step: where, by linear interpolation
      const Var t_f = -x1 / v1;
      const Var at_axis = x0 + t_f * v0;
      return at_axis * at_axis;
    }
    v0 = v0 - dt * grad_p[0];
    v1 = v1 - dt * grad_p[1];
  }
}

struct ForwardOverReverse {
  using Output = double;
  double w0;
  explicit ForwardOverReverse(const json& input) : w0(input.at("w").get<double>()) {}
  void compute(double& w) const {
    const auto value = [](const std::vector<double>& at) {
      tapegrad::NoGradGuard constants;  // nothing records: Vars are constants
      const Var w_var = at[0];
      return miss(std::span<const Var>(&w_var, 1)).value();
    };
    const auto derivative = [](const std::vector<double>& at) {
      return std::vector<double>{tapegrad::jvp(miss, at, std::vector<double>{1.0}).tangent};
    };
    w = gradbench_tool::argmin(std::vector<double>{w0}, value, derivative)[0];
  }
};

}  // namespace

int main(int argc, char** argv) { return gradbench_tool::nested_tool_main<ForwardOverReverse>(argc, argv); }
