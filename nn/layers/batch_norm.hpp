#pragma once
/// \file
/// BatchNorm1d over x [batch, features] (seed eq. 16-25): mode full (default, Ioffe-Szegedy) or seed
/// (batch statistics held fixed in backward, eq. 21); running statistics (unbiased variance, as
/// PyTorch) are used in evaluation.
#include "nn/functional/batch_norm.hpp"
#include "nn/layers/module.hpp"

namespace tapegrad::nn {

/// Batch normalisation of [batch, features] inputs (seed eq. 16-25; PyTorch's BatchNorm1d): batch
/// statistics in training, running statistics in evaluation.
class BatchNorm1d : public Module {
 public:
  /// affine: learn gamma (weight) and theta (bias).
  explicit BatchNorm1d(int64_t features, BatchNormOptions options = {}, bool affine = true);
  Tensor forward(const Tensor& x) override;
  /// The options it was made with.
  const BatchNormOptions& options() const { return options_; }
  /// Keep the last training pass's batch statistics and psihat for internals() (off by default).
  bool keep_internals = false;
  /// The last training pass's batch statistics and psihat, when keep_internals is set.
  const BatchNormInternals& internals() const { return internals_; }

  Tensor weight;        ///< gamma of eq. 17 ([features]; undefined without affine)
  Tensor bias;          ///< theta of eq. 17 ([features]; undefined without affine)
  Tensor running_mean;  ///< buffer: the running mean ([features])
  Tensor running_var;   ///< buffer: the running unbiased variance ([features])

 private:
  BatchNormOptions options_;
  BatchNormInternals internals_;
};

}  // namespace tapegrad::nn
