// CoDiPack (github.com/SciCompKL/CoDiPack) on the scalar kernels; built when TAPEGRAD_CODIPACK_DIR
// names its source tree. codi::RealReverse (Jacobian tape, linear index management), used as its
// documentation shows: setActive, registerInput, compute, registerOutput, setPassive, evaluate.
#include <codi.hpp>

#include "peers/scalar_peer.hpp"

namespace bench {

namespace {
struct CoDiPackPeer {
  using Real = codi::RealReverse;
  void begin(std::vector<Real>& inputs, const std::vector<double>& values) {
    auto& tape = Real::getTape();
    tape.reset();
    tape.setActive();
    for (size_t i = 0; i < inputs.size(); ++i) {
      inputs[i] = values[i];
      tape.registerInput(inputs[i]);
    }
  }
  double gradient(Real& output, Real& input) {
    auto& tape = Real::getTape();
    tape.registerOutput(output);
    tape.setPassive();
    output.setGradient(1.0);
    tape.evaluate();
    return input.getGradient();
  }
};
}  // namespace

void register_codipack() { register_scalar_peer<CoDiPackPeer>("CoDiPack"); }

}  // namespace bench
