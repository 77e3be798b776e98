#pragma once
/// \file
/// LayerNorm: PyTorch's layer, normalising over the trailing normalized_shape dimensions with a
/// learned weight (ones) and bias (zeros) of that shape.
#include <cstdint>
#include <vector>

#include "nn/layers/module.hpp"

namespace tapegrad::nn {

/// LayerNorm's options (PyTorch's).
struct LayerNormOptions {
  double eps = 1e-5;  ///< added to the variance
};

/// layer_norm(x, normalized_shape, weight, bias, eps) (nn/functional/layer_norm.hpp).
class LayerNorm : public Module {
 public:
  /// elementwise_affine: learn weight and bias. ValueError for an empty or non-positive shape.
  explicit LayerNorm(std::vector<int64_t> normalized_shape, LayerNormOptions options = {},
                     bool elementwise_affine = true);
  Tensor forward(const Tensor& x) override;

  std::vector<int64_t> normalized_shape;  ///< the trailing dimensions normalised over
  LayerNormOptions options;               ///< eps
  Tensor weight;                          ///< normalized_shape, undefined without affine
  Tensor bias;                            ///< normalized_shape, undefined without affine
};

}  // namespace tapegrad::nn
