#pragma once
// libtorch as a peer of the MLP benchmarks (built only when CMake finds Torch): the same model and
// step through its C++ API. Kept behind this header so that only torch_peer.cpp sees torch's.
#include <memory>
#include <string>
#include <vector>

#include "autodiff/array.hpp"
#include "mlp_models.hpp"

namespace bench {

class PeerStep {
 public:
  virtual ~PeerStep() = default;
  virtual void step() = 0;  // zero_grad, forward, loss, backward, SGD update
};

std::unique_ptr<PeerStep> make_torch_mlp_step(const MlpSpec& spec, const MlpBatch& batch);
/// A float64 MLP with the given parameters ([out, in] weights and [out] biases, alternating; ReLU
/// between layers), mean cross-entropy on (x, y); step() computes the gradient or, with hvp, the
/// Hessian-vector product with `direction` by double backward (create_graph).
std::unique_ptr<PeerStep> make_torch_hvp_step(const std::vector<tapegrad::Array>& params,
                                              const std::vector<tapegrad::Array>& direction, const tapegrad::Array& x,
                                              const std::vector<int64_t>& y, bool hvp);
/// conv2d(x, w, b) with the given stride and padding (float32 arrays), then the gradients of
/// sum(y * grad_y) for x, w and b: one forward and backward per step().
std::unique_ptr<PeerStep> make_torch_conv_step(const tapegrad::Array& x, const tapegrad::Array& w,
                                               const tapegrad::Array& b, const tapegrad::Array& grad_y, int64_t stride,
                                               int64_t padding);
/// torch::nn::LSTM(input, hidden, layers) in float32 on x [seq, batch, input]: forward, and the
/// gradients of sum(output * grad_out) for every parameter, per step().
std::unique_ptr<PeerStep> make_torch_lstm_step(int64_t input, int64_t hidden, int64_t layers, const tapegrad::Array& x,
                                               const tapegrad::Array& grad_out);
void set_torch_threads(int threads);
/// Version, threads and the BLAS / parallel backends libtorch loaded.
std::string torch_description();

}  // namespace bench

namespace bench {

/// A data set already cut into minibatches (the same batches for every implementation).
struct Batches {
  int64_t features = 0, classes = 0;
  std::vector<std::vector<float>> x;
  std::vector<std::vector<int64_t>> y;
};

/// The trainer's default recipe in libtorch: 784-512-256-10 MLP, BatchNorm1d, ReLU, Dropout(0.2),
/// Adam (lr 1e-3), cross-entropy with label smoothing 0.1; with `cnn`, the trainer's default CNN
/// (bench_epoch.cpp) before those dense layers. step() trains one epoch over `batches`.
std::unique_ptr<PeerStep> make_torch_epoch(const Batches& batches, bool cnn);

}  // namespace bench
