#pragma once
/// \file
/// Dropout: inverted dropout in training (drop probability p, kept elements scaled by 1/(1 - p)),
/// the identity in evaluation.
#include <random>

#include "nn/layers/module.hpp"

namespace tapegrad::nn {

/// Inverted dropout: in training each element is zeroed with probability p and the rest scaled by
/// 1 / (1 - p); the identity in evaluation.
class Dropout : public Module {
 public:
  /// ValueError unless 0 <= p < 1; `seed` seeds the layer's own generator.
  explicit Dropout(double p = 0.5, uint64_t seed = 0);
  Tensor forward(const Tensor& x) override;
  /// The drop probability.
  double p() const { return p_; }

 protected:
  /// `who` names the layer in errors.
  Dropout(const char* who, double p, uint64_t seed);
  /// The layer's own generator.
  std::mt19937_64& rng() { return rng_; }

 private:
  void on_seed(uint64_t s) override { rng_.seed(s); }
  double p_;
  std::mt19937_64 rng_;
};

/// Channel dropout (PyTorch's Dropout2d): in training each channel's plane is zeroed with
/// probability p and the rest scaled by 1 / (1 - p); the identity in evaluation.
class Dropout2d : public Dropout {
 public:
  /// ValueError unless 0 <= p < 1; `seed` seeds the layer's own generator.
  explicit Dropout2d(double p = 0.5, uint64_t seed = 0) : Dropout("Dropout2d", p, seed) {}
  Tensor forward(const Tensor& x) override;
};

}  // namespace tapegrad::nn
