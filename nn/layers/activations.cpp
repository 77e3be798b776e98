#include "nn/layers/activations.hpp"

#include "autodiff/error.hpp"
#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/shape_ops.hpp"

namespace tapegrad::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Softplus::forward(const Tensor& x) { return softplus(x); }
Tensor GELU::forward(const Tensor& x) { return gelu(x); }

Tensor Flatten::forward(const Tensor& x) {
  if (x.rank() < 1) raise<ShapeError>("Flatten: need a batch axis, got a scalar");
  return reshape(x, {x.shape()[0], -1});
}

}  // namespace tapegrad::nn
