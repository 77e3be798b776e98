#include "nn/functional/activation.hpp"

#include "autodiff/error.hpp"
#include "autodiff/ops/elementwise.hpp"

namespace tapegrad::nn {

Tensor activate(const Tensor& x, Activation a) {
  switch (a) {
    case Activation::identity: return x;
    case Activation::sigmoid: return sigmoid(x);
    case Activation::tanh: return tanh(x);
    case Activation::relu: return relu(x);
    case Activation::leaky_relu: return leaky_relu(x, kLeakySlope);
    case Activation::softplus: return softplus(x);
  }
  raise<ValueError>("activate: unknown activation {}", static_cast<int>(a));
}

}  // namespace tapegrad::nn
