#pragma once
// Dropout: inverted dropout in training (drop probability p, kept elements scaled by 1/(1 - p)),
// the identity in evaluation.
#include <random>

#include "nn/layers/module.hpp"

namespace tapegrad::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, uint64_t seed = 0);
  Tensor forward(const Tensor& x) override;
  double p() const { return p_; }

 private:
  void on_seed(uint64_t s) override { rng_.seed(s); }
  double p_;
  std::mt19937_64 rng_;
};

}  // namespace tapegrad::nn
