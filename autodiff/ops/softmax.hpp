#pragma once
// softmax and log_softmax are compositions of logsumexp (a primitive, stable) with broadcasting
// subtraction: no backward code of their own.
#include "autodiff/tensor.hpp"

namespace tapegrad {

Tensor log_softmax(const Tensor& x, int axis = -1);
Tensor softmax(const Tensor& x, int axis = -1);

}  // namespace tapegrad
