#include "nn/layers/batch_norm.hpp"

#include "autodiff/error.hpp"

namespace tapegrad::nn {

BatchNorm1d::BatchNorm1d(int64_t features, BatchNormOptions options, bool affine)
    : BatchNorm1d("BatchNorm1d", features, options, affine) {}

BatchNorm1d::BatchNorm1d(const char* who, int64_t features, BatchNormOptions options, bool affine) : options_(options) {
  if (features < 1) raise<ValueError>("{}: features must be positive, got {}", who, features);
  check_options(who, options);
  if (affine) {
    weight = Tensor::ones({features});
    bias = Tensor::zeros({features});
    register_parameter("weight", weight);
    register_parameter("bias", bias);
  }
  running_mean = Tensor::zeros({features});
  running_var = Tensor::ones({features});
  register_buffer("running_mean", running_mean);
  register_buffer("running_var", running_var);
}

Tensor BatchNorm1d::forward(const Tensor& x) {
  if (x.rank() != 2) raise<ShapeError>("BatchNorm1d: input must be [batch, features], got {}", x.shape());
  return batch_norm(x, weight, bias, &running_mean.mutable_value(), &running_var.mutable_value(), is_training(),
                    options_, kept_internals());
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  return batch_norm2d(x, weight, bias, &running_mean.mutable_value(), &running_var.mutable_value(), is_training(),
                      options(), kept_internals());
}

}  // namespace tapegrad::nn
