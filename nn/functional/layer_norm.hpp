#pragma once
/// \file
/// Layer normalisation (Ba et al.; PyTorch's layer_norm): each example normalised over its last
/// dimensions, y = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance. Written
/// as a composite of tape ops, so its gradient and tangent come from theirs.
#include <span>

#include "autodiff/tensor.hpp"

namespace tapegrad::nn {

/// Normalises x over its trailing dimensions, which must equal normalized_shape (ShapeError naming
/// both otherwise); weight and bias are normalized_shape-shaped, or both undefined (no affine part).
Tensor layer_norm(const Tensor& x, std::span<const int64_t> normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);

}  // namespace tapegrad::nn
