#include "nn/optim/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "autodiff/error.hpp"

namespace tapegrad::nn::optim {

double step_lr(double lr0, int epoch, int step_size, double gamma) {
  if (step_size <= 0) raise<ValueError>("step_lr: step_size must be positive, got {}", step_size);
  return lr0 * std::pow(gamma, epoch / step_size);
}

double cosine_lr(double lr0, int epoch, int t_max, double lr_min) {
  if (t_max <= 0) raise<ValueError>("cosine_lr: t_max must be positive, got {}", t_max);
  const double t = std::clamp(epoch, 0, t_max);
  return lr_min + 0.5 * (lr0 - lr_min) * (1 + std::cos(std::numbers::pi * t / t_max));
}

double warmup_lr(double lr0, int epoch, int warmup) {
  if (warmup < 0) raise<ValueError>("warmup_lr: warmup must be >= 0, got {}", warmup);
  if (epoch >= warmup) return lr0;
  return lr0 * static_cast<double>(std::max(epoch, 0) + 1) / static_cast<double>(warmup);
}

}  // namespace tapegrad::nn::optim
