#include "nn/functional/layer_norm.hpp"

#include <cmath>
#include <vector>

#include "autodiff/error.hpp"
#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/reduce.hpp"

namespace tapegrad::nn {

Tensor layer_norm(const Tensor& x, std::span<const int64_t> normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const Shape normalized(normalized_shape);
  const int k = normalized.rank(), rank = x.rank();
  bool trailing = k >= 1 && k <= rank;
  for (int i = 0; trailing && i < k; ++i) trailing = x.shape()[rank - k + i] == normalized[i];
  if (!trailing)
    raise<ShapeError>("LayerNorm: input {} does not end in the normalized shape {}", x.shape(), normalized);
  if (weight.defined() != bias.defined())
    raise<ValueError>("LayerNorm: give both weight and bias, or neither (no affine part)");
  if (weight.defined() && (!(weight.shape() == normalized) || !(bias.shape() == normalized)))
    raise<ShapeError>("LayerNorm: weight and bias must be {}, got {} and {}", normalized, weight.shape(), bias.shape());
  if (!(eps > 0.0) || !std::isfinite(eps)) raise<ValueError>("LayerNorm: eps must be positive, got {}", eps);
  std::vector<int> axes(static_cast<size_t>(k));
  for (int i = 0; i < k; ++i) axes[static_cast<size_t>(i)] = rank - k + i;
  const Tensor centered = x - mean(x, axes, true);
  const Tensor normed = centered * pow(mean(square(centered), axes, true) + eps, -0.5);
  return weight.defined() ? normed * weight + bias : normed;
}

}  // namespace tapegrad::nn
