#include "nn/functional/activation.hpp"

#include "autodiff/detail/recipes.hpp"
#include "autodiff/ops/elementwise.hpp"

namespace tapegrad::nn {

Tensor activate(const Tensor& x, Activation a) {
  if (a == Activation::identity) return x;
  if (a == Activation::leaky_relu) return leaky_relu(x, kLeakySlope);
  Tensor y;
  with_activation_math(a, [&](auto op) { y = detail::unary_math<decltype(op)>(x); });
  return y;
}

}  // namespace tapegrad::nn
