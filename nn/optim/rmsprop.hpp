#pragma once
/// \file
/// RMSProp (Hinton), as PyTorch defines it: v <- alpha v + (1 - alpha) g^2, then
/// w <- w - lr g / (sqrt(v) + eps), or with momentum b <- mu b + g / (sqrt(v) + eps), w <- w - lr b.
#include "nn/optim/optimizer.hpp"

namespace tapegrad::nn::optim {

/// RMSProp's options (PyTorch's names and defaults).
struct RMSPropOptions {
  double lr = 1e-2;           ///< learning rate
  double alpha = 0.99;        ///< decay of the squared-gradient average
  double eps = 1e-8;          ///< added to its root
  double weight_decay = 0.0;  ///< L2 penalty added to the gradient
  double momentum = 0.0;      ///< momentum of the scaled step (0: none)
};

/// RMSProp (Hinton), PyTorch's form: the gradient divided by the root of its running square.
class RMSProp : public OptimizerOf<RMSPropOptions> {
 public:
  /// One group of parameters (ValueError for a bad option).
  RMSProp(std::vector<Tensor> params, RMSPropOptions options);
  /// Parameter groups, each with its own options.
  explicit RMSProp(std::vector<ParamGroup<RMSPropOptions>> groups);
  void step() override;
};

}  // namespace tapegrad::nn::optim
