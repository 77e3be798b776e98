#include "nn/layers/batch_norm.hpp"

#include "autodiff/error.hpp"

namespace tapegrad::nn {

BatchNorm1d::BatchNorm1d(int64_t features, BatchNormOptions options, bool affine) : options_(options) {
  if (features < 1) raise<ValueError>("BatchNorm1d: features must be positive, got {}", features);
  check_options("BatchNorm1d", options);
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
  return batch_norm(x, weight, bias, &running_mean.mutable_value(), &running_var.mutable_value(), is_training(),
                    options_, keep_internals ? &internals_ : nullptr);
}

}  // namespace tapegrad::nn
