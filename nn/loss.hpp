#pragma once
// Losses as compositions of tape ops. The seed note sums the loss over the minibatch
// (L = sum_i L_i, shared/NOTES-seed.md eq. 7-9); Reduction::mean divides by the batch size.
#include <cstdint>
#include <span>

#include "autodiff/tensor.hpp"

namespace tapegrad::nn {

enum class Reduction { sum, mean };

/// 0.5 * ||prediction - target||^2 per example, reduced over the batch (first axis).
Tensor sse_loss(const Tensor& prediction, const Tensor& target, Reduction reduction = Reduction::sum);

/// Softmax cross-entropy of logits [m, classes] against class indices (one per row).
/// Its gradient with respect to the logits is softmax(logits) - onehot(targets) per example.
Tensor cross_entropy(const Tensor& logits, std::span<const int64_t> targets, Reduction reduction = Reduction::sum);

}  // namespace tapegrad::nn
