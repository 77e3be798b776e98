#pragma once
/// \file
/// Tape-free vocabulary shared by the functional ops, the layers, the seed networks and the
/// closed-form reference.
namespace tapegrad::nn {

/// How a loss combines its per-example (or per-element) terms. The general losses default to mean
/// (the libtorch habit); the seed networks sum over the minibatch (seed eq. 7-9).
enum class Reduction { mean, sum, none };

/// Which loss the seed networks and the closed-form reference compute.
enum class LossKind {
  sse,            // 0.5 ||z - y||^2 per example
  cross_entropy,  // softmax cross-entropy against a class index per example
};

/// How DropConnect draws its connection masks (eq. 11).
enum class MaskMode {
  per_minibatch,  ///< one mask shared by the minibatch (the seed note)
  per_example,    ///< one mask per example (common practice)
};

/// How batch normalisation is differentiated.
enum class BatchNormMode {
  /// Ioffe & Szegedy: differentiate through the batch mean and variance (a true gradient).
  full,
  /// The seed note's variant (eq. 21): batch mean and variance held fixed in the backward pass.
  /// The result is not the gradient of any function (see docs and NOTES-seed.md b).
  seed,
};

}  // namespace tapegrad::nn
