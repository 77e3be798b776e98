#pragma once
/// \file
/// Learning-rate schedules as functions of the epoch (or step): call opt.set_lr(schedule(...)).
namespace tapegrad::nn::optim {

/// Step decay: lr0 * gamma^floor(epoch / step_size).
double step_lr(double lr0, int epoch, int step_size, double gamma);
/// Cosine annealing from lr0 to lr_min over t_max epochs (lr_min after).
double cosine_lr(double lr0, int epoch, int t_max, double lr_min = 0.0);
/// Linear warm-up: lr0 (epoch + 1) / warmup for the first `warmup` epochs, then lr0.
double warmup_lr(double lr0, int epoch, int warmup);

}  // namespace tapegrad::nn::optim
