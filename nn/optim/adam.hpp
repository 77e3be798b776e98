#pragma once
/// \file
/// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), as PyTorch defines them:
///   m <- beta1 m + (1 - beta1) g,   v <- beta2 v + (1 - beta2) g^2,
///   w <- w - lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
/// Adam's weight decay adds lambda w to g; AdamW's decays the weights directly, w <- w (1 - lr lambda).
#include "nn/optim/optimizer.hpp"

namespace tapegrad::nn::optim {

/// Adam's options (PyTorch's names and defaults).
struct AdamOptions {
  double lr = 1e-3;           ///< learning rate
  double beta1 = 0.9;         ///< decay of the first-moment average
  double beta2 = 0.999;       ///< decay of the second-moment average
  double eps = 1e-8;          ///< added to the root of the second moment
  double weight_decay = 0.0;  ///< L2 penalty added to the gradient
};
/// AdamW's options: the same fields, PyTorch's default decay 0.01.
struct AdamWOptions {
  double lr = 1e-3;            ///< learning rate
  double beta1 = 0.9;          ///< decay of the first-moment average
  double beta2 = 0.999;        ///< decay of the second-moment average
  double eps = 1e-8;           ///< added to the root of the second moment
  double weight_decay = 1e-2;  ///< decoupled decay: w <- w - lr weight_decay w
};

/// Adam (Kingma & Ba), with PyTorch's bias correction and L2 weight decay.
class Adam : public OptimizerOf<AdamOptions> {
 public:
  /// One group of parameters (ValueError for a bad option).
  Adam(std::vector<Tensor> params, AdamOptions options);
  /// Parameter groups, each with its own options.
  explicit Adam(std::vector<ParamGroup<AdamOptions>> groups);
  void step() override;

 protected:
  /// For AdamW: `decoupled` applies weight decay to the weights rather than the gradient.
  Adam(const char* name, std::vector<ParamGroup<AdamOptions>> groups, bool decoupled);

 private:
  bool decoupled_;
};

/// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay.
class AdamW : public Adam {
 public:
  /// One group of parameters (ValueError for a bad option).
  AdamW(std::vector<Tensor> params, AdamWOptions options);
};

}  // namespace tapegrad::nn::optim
