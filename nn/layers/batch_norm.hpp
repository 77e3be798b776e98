#pragma once
// BatchNorm1d over x [batch, features] (seed eq. 16-25): mode full (default, Ioffe-Szegedy) or seed
// (batch statistics held fixed in backward, eq. 21); running statistics (unbiased variance, as
// PyTorch) are used in evaluation.
#include "nn/functional/batch_norm.hpp"
#include "nn/layers/module.hpp"

namespace tapegrad::nn {

class BatchNorm1d : public Module {
 public:
  /// affine: learn gamma (weight) and theta (bias).
  explicit BatchNorm1d(int64_t features, BatchNormOptions options = {}, bool affine = true);
  Tensor forward(const Tensor& x) override;
  const BatchNormOptions& options() const { return options_; }
  /// The last training pass's batch statistics and psihat, when keep_internals is set.
  bool keep_internals = false;
  const BatchNormInternals& internals() const { return internals_; }

  Tensor weight, bias;               // gamma and theta of eq. 17 ([features])
  Tensor running_mean, running_var;  // buffers

 private:
  BatchNormOptions options_;
  BatchNormInternals internals_;
};

}  // namespace tapegrad::nn
