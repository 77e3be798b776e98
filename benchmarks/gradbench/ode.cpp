// GradBench's ode eval: s steps of fourth-order Runge-Kutta from y = 0 to t = 2 for y' = f(x, y),
// f_0 = x_0 and f_i = x_i y_{i-1} (primal: y at t = 2), and the gradient of its last component with
// respect to x, by tensor ops (f is x times y shifted by one, a 1 in front) and one sweep.
#include <array>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "tool.hpp"
#ifdef TAPEGRAD_GRADBENCH_CHECKOUT  // its primal is the one timed (tool.hpp)
#include "gradbench/evals/ode.hpp"
#endif

namespace {

using gradbench_tool::json;

struct Problem {
  std::vector<double> x;
  int64_t steps;
  explicit Problem(const json& input)
      : x(input.at("x").get<std::vector<double>>()), steps(input.at("s").get<int64_t>()) {
    if (x.empty() || steps < 1) throw std::invalid_argument("ode: needs at least one variable and one step");
  }
};

struct Primal : Problem {
  using Output = std::vector<double>;
  std::vector<double> k1, k2, k3, k4, at;
  explicit Primal(const json& input)
      : Problem(input), k1(x.size()), k2(x.size()), k3(x.size()), k4(x.size()), at(x.size()) {}
  void f(const std::vector<double>& y, std::vector<double>& z) const {
    z[0] = x[0];
    for (size_t i = 1; i < x.size(); ++i) z[i] = x[i] * y[i - 1];
  }
  void compute(std::vector<double>& y) {
    const size_t n = x.size();
    const double h = 2.0 / static_cast<double>(steps);
    y.assign(n, 0.0);
    for (int64_t step = 0; step < steps; ++step) {
      f(y, k1);
      for (size_t i = 0; i < n; ++i) at[i] = y[i] + h * k1[i] / 2;
      f(at, k2);
      for (size_t i = 0; i < n; ++i) at[i] = y[i] + h * k2[i] / 2;
      f(at, k3);
      for (size_t i = 0; i < n; ++i) at[i] = y[i] + h * k3[i];
      f(at, k4);
      for (size_t i = 0; i < n; ++i) y[i] += h * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) / 6;
    }
  }
};

struct Gradient : Problem {
  using Output = std::vector<double>;
  tapegrad::Tape tape;
  tapegrad::Tensor variables, one, zero;
  explicit Gradient(const json& input) : Problem(input) {
    variables = tapegrad::Tensor(tapegrad::Array(tapegrad::Shape{static_cast<int64_t>(x.size())}, x), true);
    one = tapegrad::Tensor::ones({1});
    zero = tapegrad::Tensor::zeros({static_cast<int64_t>(x.size())});
  }
  tapegrad::Tensor f(const tapegrad::Tensor& y) const {  // x * (1, y_0, ..., y_{n-2})
    const int64_t n = static_cast<int64_t>(x.size());
    const std::array<tapegrad::Tensor, 2> shifted{one, slice(y, 0, 0, n - 1)};
    return variables * concat(shifted, 0);
  }
  void compute(std::vector<double>& dx) {
    tape.clear();
    variables.zero_grad();
    const double h = 2.0 / static_cast<double>(steps);
    const int64_t n = static_cast<int64_t>(x.size());
    tapegrad::Tensor y = zero;
    for (int64_t step = 0; step < steps; ++step) {
      const tapegrad::Tensor k1 = f(y);
      const tapegrad::Tensor k2 = f(y + (h / 2) * k1);
      const tapegrad::Tensor k3 = f(y + (h / 2) * k2);
      const tapegrad::Tensor k4 = f(y + h * k3);
      y = y + (h / 6) * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
    }
    sum(slice(y, 0, n - 1, n)).backward();
    gradbench_tool::copy_gradient(variables, dx);
  }
};

}  // namespace

int main(int argc, char** argv) {
  return gradbench_tool::tool_main(argc, argv,
                                   {{"primal", gradbench_tool::run<Primal, TAPEGRAD_CHECKOUTS(ode::Primal)>},
                                    {"gradient", gradbench_tool::run<Gradient>}});
}
