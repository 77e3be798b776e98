#include "nn/layers/layer_norm.hpp"

#include "autodiff/error.hpp"
#include "nn/functional/layer_norm.hpp"

namespace tapegrad::nn {

LayerNorm::LayerNorm(std::vector<int64_t> shape, LayerNormOptions opts, bool elementwise_affine)
    : normalized_shape(std::move(shape)), options(opts) {
  bool positive = !normalized_shape.empty();
  for (const int64_t d : normalized_shape) positive = positive && d > 0;
  if (!positive) raise<ValueError>("LayerNorm: the normalized shape must be non-empty and positive");
  if (elementwise_affine) {
    weight = Tensor::ones(Shape(normalized_shape));
    bias = Tensor::zeros(Shape(normalized_shape));
    register_parameter("weight", weight);
    register_parameter("bias", bias);
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, normalized_shape, weight, bias, options.eps); }

}  // namespace tapegrad::nn
