// GradBench's hello eval: square(x) = x^2, and double(x), its derivative 2x, by forward mode.
#include "autodiff/autodiff.hpp"
#include "tool.hpp"
#ifdef TAPEGRAD_GRADBENCH_CHECKOUT  // its primal is the one timed (tool.hpp)
#include "gradbench/evals/hello.hpp"
#endif

namespace {

using gradbench_tool::json;

struct Square {
  using Output = double;
  double x;
  explicit Square(const json& input) : x(input.get<double>()) {}
  void compute(double& y) const { y = x * x; }
};

struct Double {  // d(x^2)/dx by forward mode: one dual number with tangent 1 (one input: no tape)
  using Output = double;
  double x;
  explicit Double(const json& input) : x(input.get<double>()) {}
  void compute(double& dy) const {
    const tapegrad::math::Dual v{x, 1.0};
    dy = (v * v).t;
  }
};

}  // namespace

int main(int argc, char** argv) {
  return gradbench_tool::tool_main(argc, argv,
                                   {{"square", gradbench_tool::run<Square, TAPEGRAD_CHECKOUTS(hello::Square)>},
                                    {"double", gradbench_tool::run<Double>}});
}
