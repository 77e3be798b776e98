#pragma once
/// \file
/// Linear: y = x W^T + b with W [out, in] (PyTorch's layout and default initialisation:
/// W and b ~ Uniform(-1/sqrt(in), 1/sqrt(in)), drawn from the caller's generator).
/// DropConnect: a Linear whose connections are dropped (seed eq. 10-14).
#include <random>

#include "nn/functional/options.hpp"
#include "nn/layers/module.hpp"

namespace tapegrad::nn {

/// y = x W^T + b (see the file comment).
class Linear : public Module {
 public:
  /// Weights (and bias, unless `bias` is false) drawn from rng (ValueError for a non-positive size).
  Linear(int64_t in_features, int64_t out_features, std::mt19937_64& rng, bool bias = true);
  ///@{
  /// Movable (DropConnect takes a Linear by value).
  Linear(Linear&& other) noexcept = default;
  Linear& operator=(Linear&& other) noexcept = default;
  ///@}
  Tensor forward(const Tensor& x) override;

  Tensor weight;  ///< [out, in]
  Tensor bias;    ///< [out], undefined without bias
};

/// A Linear whose connections are dropped in training (seed eq. 10-14).
class DropConnect : public Module {
 public:
  /// keep: the probability p that a connection is kept (eq. 10), in (0, 1].
  DropConnect(Linear linear, double keep, MaskMode mode = MaskMode::per_minibatch, uint64_t seed = 0);
  /// Training: a fresh mask r ~ Bernoulli(p) per call (eq. 11); evaluation: weights times p (eq. 14).
  Tensor forward(const Tensor& x) override;
  /// The last training call's mask r ([out, in], or [batch, out, in] per example).
  const Tensor& mask() const { return mask_; }

  Linear linear;  ///< the wrapped layer (its parameters are this module's)

 private:
  void on_seed(uint64_t s) override { rng_.seed(s); }
  double keep_;
  MaskMode mode_;
  std::mt19937_64 rng_;
  Tensor mask_;  ///< reused
};

}  // namespace tapegrad::nn
