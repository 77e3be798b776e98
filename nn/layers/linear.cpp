#include "nn/layers/linear.hpp"

#include <cmath>

#include "autodiff/error.hpp"
#include "autodiff/ops/elementwise.hpp"
#include "nn/functional/dropout.hpp"
#include "nn/functional/linear.hpp"

namespace tapegrad::nn {

Linear::Linear(int64_t in_features, int64_t out_features, std::mt19937_64& rng, bool with_bias) {
  if (in_features < 1 || out_features < 1)
    raise<ValueError>("Linear: features must be positive, got in {} and out {}", in_features, out_features);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight = Tensor::uniform({out_features, in_features}, rng, -bound, bound);
  register_parameter("weight", weight);
  if (with_bias) {
    bias = Tensor::uniform({out_features}, rng, -bound, bound);
    register_parameter("bias", bias);
  }
}

Tensor Linear::forward(const Tensor& x) { return nn::linear(x, weight, bias); }

DropConnect::DropConnect(Linear inner, double keep, MaskMode mode, uint64_t seed)
    : linear(std::move(inner)), keep_(keep), mode_(mode), rng_(seed) {
  if (!(keep > 0.0 && keep <= 1.0)) raise<ValueError>("DropConnect: keep probability must be in (0, 1], got {}", keep);
  register_module("linear", linear);
  mask_ = Tensor(Array(linear.weight.shape(), linear.weight.dtype()));
}

Tensor DropConnect::forward(const Tensor& x) {
  if (!is_training()) return nn::linear(x, linear.weight * keep_, linear.bias);  // eq. 14
  Array& r = mask_.mutable_value();
  const Shape& w = linear.weight.shape();
  if (mode_ == MaskMode::per_example) {
    if (x.rank() != 2) raise<ShapeError>("DropConnect: per-example masks need an input [batch, in], got {}", x.shape());
    r.resize(Shape{x.shape()[0], w[0], w[1]}, linear.weight.dtype());
  } else {
    r.resize(w, linear.weight.dtype());
  }
  draw_bernoulli(r, keep_, rng_);  // eq. 10
  return dropconnect_linear(x, linear.weight, linear.bias, mask_);
}

}  // namespace tapegrad::nn
