#pragma once
/// \file
/// The gradient descent GradBench's particle and saddle evals prescribe for their argmins (its
/// cpp/gradbench/gd.hpp, written here from that definition): the step eta starts at 1e-5, doubles
/// after 10 accepted steps and halves after a rejected one (a step is accepted when it lowers the
/// objective); descent stops when the gradient's norm or a step's length is at most 1e-5. T is
/// double, or a number type that differentiates the argmin itself (nested AD: tapegrad::Var,
/// recorded, or math::BasicDual, carrying tangents): its values are compared.
#include <cmath>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "tool.hpp"

namespace gradbench_tool {

/// |v|, the Euclidean norm.
template <class T>
T norm(const std::vector<T>& v) {
  using std::sqrt;
  T sum = 0.0;
  for (const T& x : v) sum = sum + x * x;
  return sqrt(sum);
}

/// |u - v|, the Euclidean distance.
template <class T>
T distance(const std::vector<T>& u, const std::vector<T>& v) {
  using std::sqrt;
  T sum = 0.0;
  for (size_t i = 0; i < u.size(); ++i) sum = sum + (u[i] - v[i]) * (u[i] - v[i]);
  return sqrt(sum);
}

/// argmin_x f(x) from `start`; f(x) and gradient(x) take and return the point as std::vector<T>.
template <class T, class F, class Gradient>
std::vector<T> argmin(std::vector<T> x, const F& f, const Gradient& gradient) {
  T fx = f(x);
  std::vector<T> g = gradient(x), next(x.size());
  double eta = 1e-5;
  for (int accepted = 0;;) {
    if (norm(g) <= 1e-5) return x;
    if (accepted == 10) {
      eta *= 2;
      accepted = 0;
      continue;
    }
    for (size_t i = 0; i < x.size(); ++i) next[i] = x[i] - eta * g[i];
    if (distance(x, next) <= 1e-5) return x;
    const T f_next = f(next);
    if (f_next < fx) {
      x = next;
      fx = f_next;
      g = gradient(x);
      ++accepted;
    } else {
      eta /= 2;
      accepted = 0;
    }
  }
}

/// argmax_x f(x) from `start`: argmin of -f.
template <class T, class F, class Gradient>
std::vector<T> argmax(std::vector<T> start, const F& f, const Gradient& gradient) {
  return argmin(
      std::move(start), [&f](const std::vector<T>& x) { return T(-f(x)); },
      [&gradient](const std::vector<T>& x) {
        std::vector<T> g = gradient(x);
        for (T& gi : g) gi = -gi;
        return g;
      });
}

/// The outer reverse mode of particle's and saddle's "rf" and "rr": the gradient at x of f (Vars
/// in, a Var out), recorded on `tape`, cleared first (its memory kept across the descent's calls).
template <class F>
std::vector<double> tape_gradient(tapegrad::Tape& tape, const std::vector<double>& x, const F& f) {
  tape.clear();
  const std::vector<tapegrad::Var> vars(x.begin(), x.end());
  return tapegrad::gradient(f(vars), vars);
}

/// main() of particle and saddle: the programs of "ff", "fr", "rf" and "rr".
template <class FF, class FR, class RF, class RR>
int nested_tool_main(int argc, char** argv) {
  return tool_main(argc, argv, {{"ff", run<FF>}, {"fr", run<FR>}, {"rf", run<RF>}, {"rr", run<RR>}});
}

}  // namespace gradbench_tool
