#pragma once
/// \file
/// softmax and log_softmax are compositions of logsumexp (a primitive, stable) with broadcasting
/// subtraction: no backward code of their own.
#include "autodiff/tensor.hpp"

namespace tapegrad {

/// log(softmax(x)) along `axis` (negative counts from the end), computed stably.
Tensor log_softmax(const Tensor& x, int axis = -1);
/// exp(x - logsumexp(x)) along `axis`: entries in (0, 1) summing to 1.
Tensor softmax(const Tensor& x, int axis = -1);

}  // namespace tapegrad
