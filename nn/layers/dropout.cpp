#include "nn/layers/dropout.hpp"

#include "autodiff/error.hpp"
#include "nn/functional/dropout.hpp"

namespace tapegrad::nn {

Dropout::Dropout(double p, uint64_t seed) : p_(p), rng_(seed) {
  if (!(p >= 0.0 && p < 1.0)) raise<ValueError>("Dropout: drop probability must be in [0, 1), got {}", p);
}

Tensor Dropout::forward(const Tensor& x) {
  if (!is_training() || p_ == 0.0) return x;
  return dropout(x, p_, rng_);
}

Dropout2d::Dropout2d(double p, uint64_t seed) : p_(p), rng_(seed) {
  if (!(p >= 0.0 && p < 1.0)) raise<ValueError>("Dropout2d: drop probability must be in [0, 1), got {}", p);
}

Tensor Dropout2d::forward(const Tensor& x) {
  if (!is_training() || p_ == 0.0) return x;
  return dropout2d(x, p_, rng_);
}

}  // namespace tapegrad::nn
