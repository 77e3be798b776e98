#pragma once
/// \file
/// Losses. Each takes a Reduction: mean (the default), sum (the seed networks: seed eq. 7-9) or none
/// (the per-example terms). cross_entropy is one fused, numerically stable op from the logits.
#include <cstdint>
#include <span>

#include "autodiff/tensor.hpp"
#include "nn/functional/options.hpp"

namespace tapegrad::nn {

/// Softmax cross-entropy of logits [m, classes] against class indices (one per row), with optional
/// label smoothing eps: the target distribution is (1 - eps) onehot + eps / classes. Its gradient
/// with respect to the logits is softmax(logits) minus that distribution, per example. mean divides
/// by m; none gives [m]. ValueError for a class outside [0, classes) or an empty batch.
Tensor cross_entropy(const Tensor& logits, std::span<const int64_t> targets, Reduction reduction = Reduction::mean,
                     double label_smoothing = 0.0);

/// Negative log-likelihood of log-probabilities [m, classes] (e.g. log_softmax) at the targets.
Tensor nll_loss(const Tensor& log_probs, std::span<const int64_t> targets, Reduction reduction = Reduction::mean);

/// Mean squared error over every element (mean), or the sum, or [shape] elementwise (none).
Tensor mse_loss(const Tensor& prediction, const Tensor& target, Reduction reduction = Reduction::mean);

/// The seed's squared error, 0.5 ||prediction_i - target_i||^2 per example (first axis); mean
/// divides the sum over the batch by m; none gives [m].
Tensor sse_loss(const Tensor& prediction, const Tensor& target, Reduction reduction = Reduction::mean);

/// The logistic loss of logits z against targets y in [0, 1], elementwise
/// softplus(z) - z y = -(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))), stable for any z.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::mean);

}  // namespace tapegrad::nn
