// GradBench's particle eval (Siskind and Pearlmutter's charged particle): a particle starts at
// (0, 8) with velocity (0.75, 0) in the field of unit charges at (10, 10 - w) and (10, 0); Euler
// steps of 0.1 follow it, its acceleration the negative gradient of the potential
// p(x; w) = sum_charges 1 / |x - charge|, until it crosses the x axis, where x_0(t_f)^2 is its
// miss. The output is the w that gradient descent (descent.hpp) finds for the least miss, from the
// input's w. Nested AD: the objective contains a gradient.
//
// The function's two letters name the outer mode (the miss's derivative in w) and the inner one
// (each step's force, grad_x p):
// - "ff": forward over forward: the simulation on duals of w (math::Dual), each force from two
//   forward passes on duals of those (math::BasicDual<Dual>), no tape.
// - "fr": forward over reverse: a jvp of the simulation, each force a reverse-mode gradient
//   (tapegrad::gradient inside jvp) that carries its tangent.
// - "rf": reverse over forward: the simulation on the scalar tape (Var), each force from two
//   forward passes on duals of Vars, then one reverse sweep.
// - "rr": reverse over reverse: the same, each force a nested reverse-mode gradient over Vars
//   (math::reverse_gradient), whose sweep the tape records.
#include <array>
#include <cmath>
#include <stdexcept>
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

// The potential at x of the charges at (10, 10 - w) and (10, 0), for any number type T.
template <class T>
T potential(const T& x0, const T& x1, const T& w) {
  using std::sqrt;
  const std::array<T, 2> charge_y{10.0 - w, T(0.0)};
  T p = 0.0;
  for (const T& y : charge_y) p = p + 1.0 / sqrt((x0 - 10.0) * (x0 - 10.0) + (x1 - y) * (x1 - y));
  return p;
}

// grad_x p by reverse mode: the gradient in v = {x_0, x_1, w} (tapegrad::gradient, inside jvp its
// x part carries d/dw), its x part.
std::array<Var, 2> grad_p_reverse(const Var& x0, const Var& x1, const Var& w) {
  const std::array<Var, 3> at{x0, x1, w};
  const std::vector<Var> g = tapegrad::gradient([](std::span<const Var> v) { return potential(v[0], v[1], v[2]); }, at);
  return {g[0], g[1]};
}

// grad_x p by forward mode: two passes, along x_0 and x_1, on duals of T.
struct ForwardForce {
  template <class T>
  std::array<T, 2> operator()(const T& x0, const T& x1, const T& w) const {
    using D = BasicDual<T>;
    return {potential(D(x0, T(1.0)), D(x1), D(w)).t, potential(D(x0), D(x1, T(1.0)), D(w)).t};
  }
};

// grad_x p by nested reverse mode over T (math::reverse_gradient; on Vars its sweep is recorded).
struct ReverseForce {
  template <class T>
  std::array<T, 2> operator()(const T& x0, const T& x1, const T& w) const {
    const std::array<T, 3> at{x0, x1, w};
    const std::vector<T> g = tapegrad::math::reverse_gradient<T>(
        [](std::span<const Reverse<T>> v) { return potential(v[0], v[1], v[2]); }, std::span<const T>(at));
    return {g[0], g[1]};
  }
};

// x_0(t_f)^2 for the control w, each step's force -grad_x p from grad_p(x_0, x_1, w).
template <class T, class GradP>
T miss(const T& w, const GradP& grad_p) {
  const double dt = 0.1;
  T x0 = 0.0, x1 = 8.0, v0 = 0.75, v1 = 0.0;
  for (int step = 0;; ++step) {
    if (step == 1'000'000) throw std::runtime_error("particle: no crossing of the x axis in 1,000,000 steps");
    const std::array<T, 2> g = grad_p(x0, x1, w);
    x0 = x0 + dt * v0;
    x1 = x1 + dt * v1;
    if (x1 <= 0.0) {  // crossed the axis in this step: where, by linear interpolation
      const T t_f = -x1 / v1;
      const T at_axis = x0 + t_f * v0;
      return at_axis * at_axis;
    }
    v0 = v0 - dt * g[0];
    v1 = v1 - dt * g[1];
  }
}

// The miss's value and derivative in w of each nesting (w and the derivative as 1-vectors, the
// descent's form).
struct ForwardOverForward {
  static double value(const std::vector<double>& w) { return miss(w[0], ForwardForce{}); }
  static std::vector<double> derivative(const std::vector<double>& w) {
    return {miss(Dual(w[0], 1.0), ForwardForce{}).t};
  }
};

struct ForwardOverReverse {
  // Vars are constants when nothing records, or carry tangents in w inside jvp.
  static Var miss_var(std::span<const Var> w) { return miss(w[0], grad_p_reverse); }
  static double value(const std::vector<double>& w) {
    tapegrad::NoGradGuard constants;  // nothing records: Vars are constants
    const Var w_var = w[0];
    return miss_var(std::span<const Var>(&w_var, 1)).value();
  }
  static std::vector<double> derivative(const std::vector<double>& w) {
    return {tapegrad::jvp(miss_var, w, std::vector<double>{1.0}).tangent};
  }
};

// Reverse over the forces' mode ("rf", "rr"): the simulation recorded on the program's tape
// (cleared each time, its memory kept), one sweep.
template <class Force>
struct ReverseOver {
  static double value(const std::vector<double>& w) { return miss(w[0], Force{}); }
  std::vector<double> derivative(const std::vector<double>& w) const {
    return gradbench_tool::tape_gradient(tape, w, [](const std::vector<Var>& at) { return miss(at[0], Force{}); });
  }
  mutable tapegrad::Tape tape;
};

// One program: the argmin from the input's w, with the nesting's objective and derivative.
template <class Nesting>
struct Particle {
  using Output = double;
  double w0;
  Nesting nesting;
  explicit Particle(const json& input) : w0(input.at("w").get<double>()) {}
  void compute(double& w) const {
    w = gradbench_tool::argmin(std::vector<double>{w0}, Nesting::value,
                               [this](const std::vector<double>& at) { return nesting.derivative(at); })[0];
  }
};

}  // namespace

int main(int argc, char** argv) {
  return gradbench_tool::nested_tool_main<Particle<ForwardOverForward>, Particle<ForwardOverReverse>,
                                          Particle<ReverseOver<ForwardForce>>, Particle<ReverseOver<ReverseForce>>>(
      argc, argv);
}
