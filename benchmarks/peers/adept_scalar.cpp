// Adept-2 (github.com/rjhogan/Adept-2) on the scalar kernels; built when TAPEGRAD_ADEPT_DIR names
// its source tree. Adept's documented pattern: values set passively, new_recording, compute,
// set_gradient, compute_adjoint.
#include <adept.h>

#include "peers/scalar_peer.hpp"

namespace bench {

namespace {
struct AdeptPeer {
  using Real = adept::adouble;
  adept::Stack stack;
  void begin(std::vector<Real>& inputs, const std::vector<double>& values) {
    for (size_t i = 0; i < inputs.size(); ++i) inputs[i].set_value(values[i]);
    stack.new_recording();
  }
  double gradient(Real& output, Real& input) {
    output.set_gradient(1.0);
    stack.compute_adjoint();
    return input.get_gradient();
  }
};
}  // namespace

void register_adept() { register_scalar_peer<AdeptPeer>("Adept"); }

}  // namespace bench
