#pragma once
/// \file
/// The affine map of a layer, y = x W^T + b (the weighted sum psi of seed eq. 1 for every neuron of
/// a layer and every example at once), as one fused tape op: the bias is written into the output
/// before the GEMM accumulates onto it, so no broadcast op is recorded.
#include "autodiff/tensor.hpp"

namespace tapegrad::nn {

/// x [..., in], weight [out, in], bias [out] or undefined (no bias) -> [..., out].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

}  // namespace tapegrad::nn
