#pragma once
// Stateless layers: activations and Flatten.
#include "nn/layers/module.hpp"

namespace tapegrad::nn {

struct ReLU : Module {
  Tensor forward(const Tensor& x) override;
};
struct LeakyReLU : Module {
  explicit LeakyReLU(double slope = 0.01) : negative_slope(slope) {}
  Tensor forward(const Tensor& x) override;
  double negative_slope;
};
struct Tanh : Module {
  Tensor forward(const Tensor& x) override;
};
struct Sigmoid : Module {
  Tensor forward(const Tensor& x) override;
};
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

}  // namespace tapegrad::nn
