#pragma once
/// \file
/// Batch normalisation of x [m, features] per feature, or of x [batch, channels, height, width] per
/// channel over batch and both spatial dimensions (seed eq. 16-25), one fused tape op:
///   mu = mean_i x_i (eq. 18),  sigma^2 = mean_i (x_i - mu)^2 (eq. 19, biased),
///   xhat = (x - mu) / sqrt(sigma^2 + eps),  y = gamma xhat + beta (eq. 17).
/// Backward, with lambdahat = dL/dxhat = gamma dL/dy (eq. 20):
///   full mode (Ioffe-Szegedy):  dL/dx = (lambdahat - mean(lambdahat) - xhat mean(lambdahat xhat)) / sqrt(sigma^2 +
///   eps) seed mode (eq. 21, mu and sigma held fixed): dL/dx = lambdahat / sqrt(sigma^2 + eps) dL/dgamma = sum_i dL/dy
///   xhat (eq. 22), dL/dbeta = sum_i dL/dy (eq. 23).
/// Evaluation normalises with the running statistics (constants, so its backward is seed mode's).
#include "autodiff/tensor.hpp"
#include "nn/functional/options.hpp"

namespace tapegrad::nn {

/// Batch normalisation's options, as PyTorch's BatchNorm1d (plus the seed's mode).
struct BatchNormOptions {
  BatchNormMode mode = BatchNormMode::full;  ///< full batch norm, or the seed's eq. 21
  double eps = 1e-5;                         ///< epsilon added to the variance (eq. 18)
  /// Running-statistics update weight (PyTorch's): r <- (1 - momentum) r + momentum batch_stat.
  double momentum = 0.1;
};

/// ValueError naming `who` unless eps > 0 (finite) and momentum is in [0, 1].
void check_options(const char* who, const BatchNormOptions& options);

/// What a training pass computed, for users of the seed note: the batch statistics and psihat.
struct BatchNormInternals {
  Array mean;  ///< [features], the batch mean (eq. 18)
  Array var;   ///< [features], the biased batch variance (eq. 19)
  Array xhat;  ///< psihat before gamma and beta, x's shape
};

/// training: batch statistics, and running_mean/var (if given, [features], the tensor's dtype)
/// updated with the unbiased variance; otherwise normalise with running_mean/var (required).
/// gamma and beta are [features] or both undefined (no affine part). `internals`, if given,
/// receives copies of the batch statistics and xhat (training only).
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Array* running_mean, Array* running_var,
                  bool training, const BatchNormOptions& options = {}, BatchNormInternals* internals = nullptr);

/// Batch normalisation of x [batch, channels, height, width] per channel (BatchNorm2d), the same
/// equations over the batch and both spatial dimensions, read in place (seed mode, eq. 21, is per
/// channel too). Arguments as batch_norm's, with [channels] for the features; ShapeError (naming
/// BatchNorm2d) unless x is 4-D.
Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Array* running_mean, Array* running_var,
                    bool training, const BatchNormOptions& options = {}, BatchNormInternals* internals = nullptr);

}  // namespace tapegrad::nn
