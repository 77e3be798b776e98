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
  /// minibatch of m (m matters only per example). A forward pass that uses a drawn mask records
  /// the draw: Tape::replay draws the next mask from rng (which must outlive the recording), as
  /// calling draw_mask again before a fresh recording would. So between replays, draw nothing:
  /// replay refuses a mask drawn or set since.
  void draw_mask(std::mt19937_64& rng, size_t m, MaskMode mode = MaskMode::per_minibatch);
  /// Unit dropout (Srivastava et al.) as the special case it is: one draw per source neuron, shared
  /// by all its outgoing arrows, r_l ~ Bernoulli(p_l) with p_l the keep probability of the source's
  /// first outgoing arrow (give a source's arrows one keep probability). Replayed as draw_mask is.
  void draw_unit_mask(std::mt19937_64& rng, size_t m, MaskMode mode = MaskMode::per_minibatch);
  /// Supplies a mask explicitly: one value per edge, or m x edges (per example). Replay reads the
  /// model's mask again (a static buffer): set the next one before each replay, of the same size.
  void set_mask(std::span<const double> mask);
  /// Back to no dropout in training (r = 1).
  void clear_mask() {
    mask_.clear();
    drawn_from_ = nullptr;
  }
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
  /// cross-entropy; summed over the minibatch unless mean. Reuses its buffers. The targets are a
  /// static buffer: replay reads them again, so they must keep their size and storage.
  Tensor loss(const Tensor& z, std::span<const double> targets, LossKind kind, Reduction reduction = Reduction::sum);

  /// The current parameter values as a plain Parameters (for saving with Network::set_parameters).
  Parameters parameter_values() const;

 private:
  struct Neuron {
    Tensor out, psi;  // o_k and psi_k (the same tensor when the op records psi alone)
  };
  template <class Act>
  Neuron neuron_op(uint32_t unit, int64_t m, const double* r, bool per_example);
  /// The mask from rng (unit or edge draws), into mask_.
  void draw(std::mt19937_64& rng, size_t m, MaskMode mode, bool units);
  /// Records what replay must do before the neurons: draw the next mask if this one was drawn, then
  /// read mask_ into the returned buffer (r of eq. 11).
  const double* record_mask();
  Network net_;
  std::vector<double> mask_;
  struct MaskDraw {  ///< how the mask was drawn (drawn_from_ non-null): what replay repeats
    size_t m = 0;
    MaskMode mode = MaskMode::per_minibatch;
    bool units = false;
  } draw_{};
  std::mt19937_64* drawn_from_ = nullptr;           ///< the generator of the last draw; null when set or clear
  bool drawn_since_pass_ = false;                   ///< a draw no forward pass has recorded yet
  std::vector<double> unit_keep_, unit_r_;          ///< draw_unit_mask's per-unit buffers
  std::vector<int64_t> unit_ids_;                   ///< 0, 1, ...: a unit's gamma and theta as index_select's list
  Array unit_mean_{Shape{1}}, unit_var_{Shape{1}};  ///< the running statistics of the unit in hand
  /// Buffers reused across passes (a warm step allocates nothing).
  Output output_;
  std::vector<Tensor> out_, zs_;  ///< out_: o_k per unit (eq. 16)
  std::vector<double> keep_;
  std::vector<int64_t> labels_;  ///< cross-entropy classes
};

}  // namespace tapegrad::nn
