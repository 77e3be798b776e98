#pragma once
/// \file
/// log_softmax is a primitive op (forward and backward in softmax.cpp), exact for large logits;
/// softmax is exp(log_softmax).
#include "autodiff/tensor.hpp"

namespace tapegrad {

/// log(softmax(x)) along `axis` (negative counts from the end): (x - max) - log(sum(exp(x - max))),
/// exact for large logits; a NaN makes its row NaN.
Tensor log_softmax(const Tensor& x, int axis = -1);
/// exp(log_softmax(x, axis)): entries in [0, 1] summing to 1 along `axis`.
Tensor softmax(const Tensor& x, int axis = -1);

}  // namespace tapegrad
