#include "nn/layers/dropout.hpp"

#include "autodiff/error.hpp"
#include "nn/functional/dropout.hpp"

namespace tapegrad::nn {

Dropout::Dropout(double p, uint64_t seed) : Dropout("Dropout", p, seed) {}

Dropout::Dropout(const char* who, double p, uint64_t seed) : p_(p), rng_(seed) {
  if (!(p >= 0.0 && p < 1.0)) raise<ValueError>("{}: drop probability must be in [0, 1), got {}", who, p);
}

Tensor Dropout::forward(const Tensor& x) {
  if (!is_training() || p_ == 0.0) return x;
  return dropout(x, p_, rng_);
}

Tensor Dropout2d::forward(const Tensor& x) {
  if (!is_training() || p() == 0.0) return x;
  return dropout2d(x, p(), rng());
}

}  // namespace tapegrad::nn
