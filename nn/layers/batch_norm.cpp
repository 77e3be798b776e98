#include "nn/layers/batch_norm.hpp"

#include "autodiff/error.hpp"

namespace tapegrad::nn {

BatchNorm1d::BatchNorm1d(int64_t features, BatchNorm1dOptions options) : options_(options) {
  if (features < 1) raise<ValueError>("BatchNorm1d: features must be positive, got {}", features);
  if (!(options.eps > 0.0)) raise<ValueError>("BatchNorm1d: eps must be positive, got {}", options.eps);
  if (!(options.momentum >= 0.0 && options.momentum <= 1.0))
    raise<ValueError>("BatchNorm1d: momentum must be in [0, 1], got {}", options.momentum);
  if (options.affine) {
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
                    {options_.mode, options_.eps, options_.momentum}, keep_internals ? &internals_ : nullptr);
}

}  // namespace tapegrad::nn
