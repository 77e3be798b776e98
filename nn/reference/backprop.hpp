#pragma once
/// \file
/// The closed-form reference: back-propagation written out as the seed note's lambda equations,
/// with no tape (this folder includes no tape header; a test enforces it). It is the independent
/// check of the tape model and the baseline the benchmarks race against.
///
/// Layout: per-unit rows of m examples, units in Network::units() order.
#include <cstdint>
#include <span>
#include <vector>

#include "nn/seed/network.hpp"

namespace tapegrad::nn::reference {

/// What backprop computes: the loss, its reduction, the DropConnect masks.
struct Options {
  LossKind loss = LossKind::sse;         ///< sum of squared errors or cross-entropy (eq. 7-9)
  Reduction reduction = Reduction::sum;  ///< sum (the seed's eq. 7-9) or mean over the m examples; not none
  /// DropConnect masks r (eq. 11): empty (r = 1), one value per edge (one mask for the minibatch),
  /// or m * edges values (row i is example i's mask). Eval mode passes r = p (eq. 14).
  std::span<const double> mask = {};
};

/// What backprop returns: the loss, every unit's psi, psihat, o and lambda, and the gradient.
struct Result {
  double loss = 0.0;           ///< the minibatch loss
  std::vector<double> psi;     ///< [units x m] pre-activations (eq. 1 / 11)
  std::vector<double> psihat;  ///< [units x m] batch-normalised psi (eq. 17); = psi without batch norm
  std::vector<double> out;     ///< [units x m] o_k (inputs: x)
  std::vector<double> lambda;  ///< [units x m] lambda_k,i = dL/dpsi_k,i (eq. 4, 5, 13, 21)
  Parameters grad;             ///< dL/dw (eq. 2, 12), dL/dbeta (eq. 3), dL/dgamma (eq. 22), dL/dtheta (eq. 23)

  ///@{
  /// Scratch, kept so a reused Result allocates nothing.
  std::vector<double> g, xhat, inv_std, dz, gh;
  ///@}
};

/// One forward and backward pass in training mode (batch statistics for batch-norm neurons, in the
/// network's batch_norm_mode). x is [m x inputs] row-major; targets are [m x outputs] for sse or
/// m class indices (as doubles) for cross-entropy.
Result backprop(const Network& net, const Parameters& p, std::span<const double> x, std::span<const double> targets,
                size_t m, const Options& options);
/// The same into a reused Result (no allocation once its buffers are large enough).
void backprop(const Network& net, const Parameters& p, std::span<const double> x, std::span<const double> targets,
              size_t m, const Options& options, Result& result);

}  // namespace tapegrad::nn::reference
