// GradBench's llsq eval: f(x) = 1/2 sum_i (s(t_i) - sum_j x_j t_i^j)^2 over n points t_i evenly in
// [-1, 1], s the sign (primal), and its gradient, by tensors: r = b - A x with A_ij = t_i^j and
// b_i = s(t_i), f = sum(r^2) / 2. A and b are filled in every timed run (their buffers are made
// when the function is prepared), so the derivative's time includes all the work the primal does.
#include <cmath>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "tool.hpp"
#ifdef TAPEGRAD_GRADBENCH_CHECKOUT  // its primal is the one timed (tool.hpp)
#include "gradbench/evals/llsq.hpp"
#endif

namespace {

using gradbench_tool::json;

struct Problem {
  std::vector<double> x;
  int64_t n;
  explicit Problem(const json& input) : x(input.at("x").get<std::vector<double>>()), n(input.at("n").get<int64_t>()) {
    if (x.empty() || n < 2) throw std::invalid_argument("llsq: needs at least one coefficient and two points");
  }
  double t(int64_t i) const { return -1 + static_cast<double>(i) * 2 / static_cast<double>(n - 1); }
  static double sign(double v) { return (0 < v) - (v < 0); }
};

struct Primal : Problem {
  using Output = double;
  using Problem::Problem;
  void compute(double& f) const {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double ti = t(i);
      double residual = sign(ti), power = 1;
      for (const double xj : x) {
        residual -= xj * power;
        power *= ti;
      }
      sum += residual * residual;
    }
    f = sum / 2;
  }
};

struct Gradient : Problem {
  using Output = std::vector<double>;
  tapegrad::Tape tape;
  tapegrad::Tensor a, b, coefficients;
  explicit Gradient(const json& input) : Problem(input) {
    const auto m = static_cast<int64_t>(x.size());
    a = tapegrad::Tensor(tapegrad::Array(tapegrad::Shape{n, m}));
    b = tapegrad::Tensor(tapegrad::Array(tapegrad::Shape{n, 1}));
    coefficients = tapegrad::Tensor(tapegrad::Array(tapegrad::Shape{m, 1}, x), true);
  }
  void fill_points() {  // A_ij = t_i^j, b_i = s(t_i)
    const auto m = static_cast<int64_t>(x.size());
    double* powers = a.mutable_value().data<double>();
    double* signs = b.mutable_value().data<double>();
    for (int64_t i = 0; i < n; ++i) {
      double power = 1;
      for (int64_t j = 0; j < m; ++j, power *= t(i)) powers[i * m + j] = power;
      signs[i] = sign(t(i));
    }
  }
  void compute(std::vector<double>& dx) {
    tape.clear();
    fill_points();
    coefficients.zero_grad();
    const tapegrad::Tensor r = b - matmul(a, coefficients);
    const tapegrad::Tensor f = 0.5 * sum(r * r);
    f.backward();
    gradbench_tool::copy_gradient(coefficients, dx);
  }
};

}  // namespace

int main(int argc, char** argv) {
  return gradbench_tool::tool_main(argc, argv,
                                   {{"primal", gradbench_tool::run<Primal, TAPEGRAD_CHECKOUTS(llsq::Primal)>},
                                    {"gradient", gradbench_tool::run<Gradient>}});
}
