#pragma once
// RMSProp (Hinton), as PyTorch defines it: v <- alpha v + (1 - alpha) g^2, then
// w <- w - lr g / (sqrt(v) + eps), or with momentum b <- mu b + g / (sqrt(v) + eps), w <- w - lr b.
#include "nn/optim/optimizer.hpp"

namespace tapegrad::nn::optim {

struct RMSPropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
};

class RMSProp : public OptimizerOf<RMSPropOptions> {
 public:
  RMSProp(std::vector<Tensor> params, RMSPropOptions options);
  explicit RMSProp(std::vector<ParamGroup<RMSPropOptions>> groups);
  void step() override;
};

}  // namespace tapegrad::nn::optim
