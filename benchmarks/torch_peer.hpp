#pragma once
// libtorch as a peer of the MLP benchmarks (built only when CMake finds Torch): the same model and
// step through its C++ API. Kept behind this header so that only torch_peer.cpp sees torch's.
#include <memory>
#include <string>

#include "mlp_models.hpp"

namespace bench {

class PeerStep {
 public:
  virtual ~PeerStep() = default;
  virtual void step() = 0;  // zero_grad, forward, loss, backward, SGD update
};

std::unique_ptr<PeerStep> make_torch_mlp_step(const MlpSpec& spec, const MlpBatch& batch);
void set_torch_threads(int threads);
/// Version, threads and the BLAS / parallel backends libtorch loaded.
std::string torch_description();

}  // namespace bench
