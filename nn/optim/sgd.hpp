#pragma once
// Stochastic gradient descent on parameter leaves, as in the seed note:
//   plain:    w <- w - eta dL/dw                                   (eq. 6-9)
//   momentum: Delta <- alpha Delta - eta dL/dw;  w <- w + Delta      (eq. 26-27, from Delta = 0)
// Gamma and theta (batch norm) are parameters like any other and get the same momentum.
//
// Learning-rate changes. In the seed's form each gradient keeps the rate of its own step: after a
// drop from eta to eta/10 the velocity still carries old-rate steps for about 1/(1 - alpha) steps.
// PyTorch's SGD instead rescales the whole velocity by the current rate; `pytorch_lr_scaling`
// emulates that by rescaling Delta by eta_new / eta_old when the rate changes (NOTES-seed.md d).
// With a constant rate both conventions give identical trajectories.
//
// The update is written once, with tape ops (sgd_update, momentum_update): step() evaluates it
// without recording, and a caller can record it to differentiate through a step (hypergradients).
#include <vector>

#include "autodiff/tensor.hpp"

namespace tapegrad::nn::optim {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;  // alpha in eq. 26
  /// Rescale the velocity when the rate changes (PyTorch's convention); off = the seed's eq. 26.
  bool pytorch_lr_scaling = false;
  /// Hypergradient descent of the rate (Baydin et al. 2018): eta <- eta + beta g_t . g_(t-1), the
  /// gradient step on d L(w_t) / d eta = -g_t . g_(t-1). 0 turns it off.
  double hypergradient_lr = 0.0;
};

/// w - eta g, as tape ops (g is taken as a constant: it is the gradient at the step's start).
Tensor sgd_update(const Tensor& w, const Tensor& g, const Tensor& eta);
/// The new velocity alpha Delta - eta g (eq. 26), as tape ops.
Tensor momentum_update(const Tensor& delta, const Tensor& g, const Tensor& eta, double alpha);

class SGD {
 public:
  /// Validates the options (ValueError) and allocates the velocity once.
  SGD(std::vector<Tensor*> params, SGDOptions options);

  /// Sets every parameter's gradient to zero.
  void zero_grad();
  /// One update from the parameters' accumulated gradients. Needs an active tape (the update's
  /// ops run on it without recording; nothing is allocated once the tape is warm).
  void step();

  double lr() const { return options_.lr; }
  void set_lr(double lr);
  const std::vector<Tensor>& velocity() const { return velocity_; }

 private:
  std::vector<Tensor*> params_;
  SGDOptions options_;
  std::vector<Tensor> velocity_;       // Delta per parameter (momentum only)
  std::vector<Tensor> previous_grad_;  // g_(t-1) per parameter (hypergradient only)
  std::vector<Tensor> grads_;          // this step's gradients as constant leaves (reused)
  Tensor eta_;                         // the rate as a one-element leaf
  bool has_previous_ = false;
};

/// Step decay: lr0 * gamma^floor(epoch / step_size).
double step_lr(double lr0, int epoch, int step_size, double gamma);
/// Cosine annealing from lr0 to lr_min over t_max epochs.
double cosine_lr(double lr0, int epoch, int t_max, double lr_min = 0.0);

}  // namespace tapegrad::nn::optim
