#pragma once
/// \file
/// Stateless layers: activations and Flatten.
#include <vector>

#include "nn/layers/module.hpp"

namespace tapegrad::nn {

/// max(x, 0).
struct ReLU : Module {
  Tensor forward(const Tensor& x) override;
};
/// x for x > 0, negative_slope * x otherwise.
struct LeakyReLU : Module {
  /// With the given negative slope (PyTorch's default 0.01).
  explicit LeakyReLU(double slope = 0.01) : negative_slope(slope) {}
  Tensor forward(const Tensor& x) override;
  double negative_slope;  ///< the slope for x <= 0
};
/// tanh(x).
struct Tanh : Module {
  Tensor forward(const Tensor& x) override;
};
/// 1 / (1 + exp(-x)).
struct Sigmoid : Module {
  Tensor forward(const Tensor& x) override;
};
/// log(1 + exp(x)), computed stably.
struct Softplus : Module {
  Tensor forward(const Tensor& x) override;
};
/// x Phi(x), the exact (erf) form.
struct GELU : Module {
  Tensor forward(const Tensor& x) override;
};
/// [batch, d1, d2, ...] -> [batch, d1 * d2 * ...].
struct Flatten : Module {
  Tensor forward(const Tensor& x) override;
};
/// [batch, features] -> [batch, sizes...] (PyTorch's Unflatten(1, sizes)): flat images back to
/// [batch, channels, height, width] for a CNN.
struct Unflatten : Module {
  /// The sizes the features are split into (ShapeError in forward unless their product is the
  /// feature count).
  explicit Unflatten(std::vector<int64_t> split) : sizes(std::move(split)) {}
  Tensor forward(const Tensor& x) override;
  std::vector<int64_t> sizes;  ///< the trailing dimensions of the output
};

}  // namespace tapegrad::nn
