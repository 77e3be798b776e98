// GradBench's hello eval: square(x) = x^2, and double(x), its derivative 2x, by the scalar tape.
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

struct Double {  // d(x^2)/dx, recorded and swept on a tape kept warm across runs
  using Output = double;
  double x;
  tapegrad::Tape tape;
  // The eval asks for one run: prepare warms the tape with one (its first recording touches fresh
  // pages, ~15 us each on this VM, which would otherwise be all the run measures).
  explicit Double(const json& input) : x(input.get<double>()) {
    double warm = 0;
    compute(warm);
  }
  void compute(double& dy) {
    tape.clear();
    const tapegrad::Var v = x;
    const tapegrad::Var y = v * v;
    y.backward();
    dy = v.grad();
  }
};

}  // namespace

int main(int argc, char** argv) {
  return gradbench_tool::tool_main(argc, argv,
                                   {{"square", gradbench_tool::run<Square, TAPEGRAD_CHECKOUTS(hello::Square)>},
                                    {"double", gradbench_tool::run<Double>}});
}
