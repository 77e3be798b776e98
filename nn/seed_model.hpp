#pragma once
// The seed network on the tape: each neuron's psi (eq. 1 / 11) is one tape op over the whole
// minibatch, batch norm (eq. 17-19) is composed of tape ops (stop-gradient on both statistics in
// seed mode, eq. 21), and o_k = sigma_k(psihat_k) is the activation's tape op. Backprop is the tape's
// reverse sweep; the lambdas dL/dpsi are the psi tensors' gradients.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "autodiff/tensor.hpp"
#include "nn/network.hpp"

namespace tapegrad::nn {

enum class MaskMode {
  per_minibatch,  // one DropConnect mask shared by the minibatch (the seed note)
  per_example,    // one mask per example (common practice)
};

class SeedModel {
 public:
  /// Copies the network's structure and parameters (the network is finalized if needed).
  explicit SeedModel(Network net);

  /// Parameters: leaves that require grad, in the network's finalized order.
  Tensor w, beta, gamma, theta;

  const Network& network() const { return net_; }
  /// Training (batch statistics, masks as drawn) or evaluation (running statistics, w * p).
  void train(bool on = true) { training_ = on; }
  void eval() { training_ = false; }
  bool is_training() const { return training_; }

  /// Draws a DropConnect mask r_kl ~ Bernoulli(p_kl) (eq. 10) for the next forward passes, for a
  /// minibatch of m (m matters only per example).
  void draw_mask(std::mt19937_64& rng, size_t m, MaskMode mode = MaskMode::per_minibatch);
  /// Unit dropout (Srivastava et al.) as the special case it is: one draw per source neuron, shared
  /// by all its outgoing arrows, r_l ~ Bernoulli(p_l) with p_l the keep probability of the source's
  /// first outgoing arrow (give a source's arrows one keep probability).
  void draw_unit_mask(std::mt19937_64& rng, size_t m, MaskMode mode = MaskMode::per_minibatch);
  /// Supplies a mask explicitly: one value per edge, or m x edges (per example).
  void set_mask(std::span<const double> mask);
  /// Back to no dropout in training (r = 1).
  void clear_mask() { mask_.clear(); }
  bool has_mask() const { return !mask_.empty(); }

  struct Output {
    Tensor z;                 // [m, outputs]
    std::vector<Tensor> psi;  // per unit (undefined for inputs): its gradient is lambda
  };
  /// Records the forward pass of a minibatch x [m, inputs] on the active tape. The result is
  /// reused by the next call.
  const Output& forward(const Array& x);

  /// Loss of z against targets: [m, outputs] for sse, m class indices (as doubles) for
  /// cross-entropy; summed over the minibatch unless mean. Reuses its buffers.
  Tensor loss(const Tensor& z, std::span<const double> targets, LossKind kind, bool mean = false);

  /// Running mean and variance of each batch-norm unit (PyTorch's defaults: start 0 and 1,
  /// momentum from the network, unbiased variance).
  const std::vector<double>& running_mean() const { return running_mean_; }
  const std::vector<double>& running_var() const { return running_var_; }

  /// The current parameter values as a plain Parameters (for saving with Network::set_parameters).
  Parameters parameters() const;
  std::vector<Tensor*> parameter_tensors() { return {&w, &beta, &gamma, &theta}; }

 private:
  Tensor psi_op(uint32_t unit, std::span<const Tensor> sources, const double* r, bool per_example);
  Network net_;
  bool training_ = true;
  std::vector<double> mask_;
  Tensor x_;  // the minibatch as a leaf [inputs, m] (reused)
  std::vector<double> running_mean_, running_var_;
  // Buffers reused across passes (a warm step allocates nothing).
  Output output_;
  std::vector<Tensor> out_, sources_, zs_;
  std::vector<const Tensor*> inputs_;
  std::vector<double> keep_;
  Tensor target_;                // sse targets as a leaf (reused)
  std::vector<int64_t> labels_;  // cross-entropy classes
};

}  // namespace tapegrad::nn
