// GradBench's lse eval: log(sum_i exp(x_i)) of a vector x (primal), and its gradient, softmax(x),
// by one tensor op (logsumexp) and the tape's sweep.
#include <algorithm>
#include <cmath>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "tool.hpp"
#ifdef TAPEGRAD_GRADBENCH_CHECKOUT  // its primal is the one timed (tool.hpp)
#include "gradbench/evals/lse.hpp"
#endif

namespace {

using gradbench_tool::json;

std::vector<double> read_x(const json& input) {
  std::vector<double> x = input.at("x").get<std::vector<double>>();
  if (x.empty()) throw std::invalid_argument("lse: x is empty");
  return x;
}

struct Primal {  // max + log(sum exp(x - max)), in one pass each
  using Output = double;
  std::vector<double> x;
  explicit Primal(const json& input) : x(read_x(input)) {}
  void compute(double& y) const {
    const double top = *std::max_element(x.begin(), x.end());
    double sum = 0;
    for (const double v : x) sum += std::exp(v - top);
    y = top + std::log(sum);
  }
};

struct Gradient {  // d lse / dx: the tape's logsumexp and its sweep, on a tape kept warm across runs
  using Output = std::vector<double>;
  tapegrad::Tape tape;
  tapegrad::Tensor x;
  explicit Gradient(const json& input) {
    const std::vector<double> values = read_x(input);
    x = tapegrad::Tensor(tapegrad::Array(tapegrad::Shape{static_cast<int64_t>(values.size())}, values), true);
  }
  void compute(std::vector<double>& dx) {
    tape.clear();
    x.zero_grad();
    logsumexp(x).backward();
    gradbench_tool::copy_gradient(x, dx);
  }
};

}  // namespace

int main(int argc, char** argv) {
  return gradbench_tool::tool_main(argc, argv,
                                   {{"primal", gradbench_tool::run<Primal, TAPEGRAD_CHECKOUTS(lse::Primal)>},
                                    {"gradient", gradbench_tool::run<Gradient>}});
}
