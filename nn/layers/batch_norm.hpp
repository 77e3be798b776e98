#pragma once
/// \file
/// BatchNorm1d over x [batch, features] and BatchNorm2d over x [batch, channels, height, width]
/// (seed eq. 16-25, per feature or channel): mode full (default, Ioffe-Szegedy) or seed (batch
/// statistics held fixed in backward, eq. 21); running statistics (unbiased variance, as PyTorch)
/// are used in evaluation.
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

 protected:
  /// `who` names the layer in errors.
  BatchNorm1d(const char* who, int64_t features, BatchNormOptions options, bool affine);
  /// internals() when keep_internals is set, else null.
  BatchNormInternals* kept_internals() { return keep_internals ? &internals_ : nullptr; }

 private:
  BatchNormOptions options_;
  BatchNormInternals internals_;
};

/// Batch normalisation per channel of [batch, channels, height, width] inputs (PyTorch's
/// BatchNorm2d; the same options, parameters and buffers as BatchNorm1d, over channels).
class BatchNorm2d : public BatchNorm1d {
 public:
  /// affine: learn gamma (weight) and theta (bias), [channels] each.
  explicit BatchNorm2d(int64_t channels, BatchNormOptions options = {}, bool affine = true)
      : BatchNorm1d("BatchNorm2d", channels, options, affine) {}
  Tensor forward(const Tensor& x) override;
};

}  // namespace tapegrad::nn
