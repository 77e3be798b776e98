#pragma once
/// \file
/// The seed network on the tape, as a Module: each neuron is one tape op over the whole minibatch
/// giving o_k = sigma_k(psi_k) (eq. 1 / 11, 16) with psi_k as its second output; a batch-norm neuron
/// is its psi op, the library's batch_norm op (nn/functional, seed or full mode, eq. 17-25) and the
/// activation's tape op on psihat_k. Backprop is the tape's
/// reverse sweep; the lambdas dL/dpsi are the psi tensors' gradients and lambdahat = dL/dpsihat
/// (eq. 20) the psihat tensors'. Works in float64.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "autodiff/tensor.hpp"
#include "nn/functional/options.hpp"
#include "nn/layers/module.hpp"
#include "nn/seed/network.hpp"

namespace tapegrad::nn {

/// A seed network on the tape (see the file comment).
class SeedModel : public Module {
 public:
  /// Copies the network's structure and parameters (the network is finalized if needed).
  explicit SeedModel(Network net);

  ///@{
  /// Parameters: leaves that require grad, in the network's finalized order (named "w", "beta",
  /// "gamma", "theta"; buffers "running_mean", "running_var" per unit).
  Tensor w, beta, gamma, theta;
  Tensor running_mean, running_var;
  ///@}

  /// The network the model was made from (its structure; parameters live in the tensors).
  const Network& network() const { return net_; }
  // Training (batch statistics, masks as drawn) or evaluation (running statistics, w * p): Module's
  // train() / eval().

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
  /// Whether a mask is set (drawn or supplied).
  bool has_mask() const { return !mask_.empty(); }

  /// A forward pass's tensors: the outputs and, per unit, psi and psihat (for the seed's lambdas).
  struct Output {
    Tensor z;                    ///< [m, outputs]
    std::vector<Tensor> psi;     ///< per unit (undefined for inputs): its gradient is lambda
    std::vector<Tensor> psihat;  ///< per batch-norm unit [m, 1]: its gradient is lambdahat (eq. 20)
  };
  /// Records the forward pass of a minibatch x [m, inputs] (any dtype; computed in float64) on the
  /// active tape. The result is reused by the next call.
  const Output& forward(const Array& x);
  /// The Module form: z for x [m, inputs].
  Tensor forward(const Tensor& x) override { return forward(x.value()).z; }

  /// Loss of z against targets: [m, outputs] for sse, m class indices (as doubles) for
  /// cross-entropy; summed over the minibatch unless mean. Reuses its buffers.
  Tensor loss(const Tensor& z, std::span<const double> targets, LossKind kind, Reduction reduction = Reduction::sum);

  /// The current parameter values as a plain Parameters (for saving with Network::set_parameters).
  Parameters parameter_values() const;

 private:
  struct Neuron {
    Tensor out, psi;  // o_k and psi_k (the same tensor when the op records psi alone)
  };
  template <class Act>
  Neuron neuron_op(uint32_t unit, int64_t m, const double* r, bool per_example);
  Network net_;
  std::vector<double> mask_;
  Array unit_mean_{Shape{1}}, unit_var_{Shape{1}};  ///< the running statistics of the unit in hand
  /// Buffers reused across passes (a warm step allocates nothing).
  Output output_;
  std::vector<Tensor> out_, zs_;  ///< out_: o_k per unit (eq. 16)
  std::vector<double> keep_;
  Tensor target_;                ///< sse targets as a leaf (reused)
  std::vector<int64_t> labels_;  ///< cross-entropy classes
};

}  // namespace tapegrad::nn
