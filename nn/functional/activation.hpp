#pragma once
// A neuron activation sigma (seed eq. 16) applied as its tensor op; the tape-free scalar forms are
// in nn/activation.hpp.
#include "autodiff/tensor.hpp"
#include "nn/functional/scalar_activation.hpp"

namespace tapegrad::nn {

Tensor activate(const Tensor& x, Activation a);

}  // namespace tapegrad::nn
