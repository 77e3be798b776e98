#pragma once
/// \file
/// Stochastic gradient descent, as in the seed note:
///   plain:    w <- w - eta dL/dw                                   (eq. 6-9)
///   momentum: Delta <- alpha Delta - eta dL/dw;  w <- w + Delta      (eq. 26-27, from Delta = 0)
/// Gamma and theta (batch norm) are parameters like any other and get the same momentum.
/// Extensions: weight decay (dL/dw + lambda w), Nesterov (w <- w + alpha Delta - eta dL/dw, the
/// look-ahead form of eq. 27), and hypergradient descent of the rate.
///
/// Learning-rate changes. In the seed's form each gradient keeps the rate of its own step: after a
/// drop from eta to eta/10 the velocity still carries old-rate steps for about 1/(1 - alpha) steps.
/// PyTorch's SGD instead rescales the whole velocity by the current rate; `pytorch_lr_scaling`
/// emulates that by rescaling Delta by eta_new / eta_old when the rate changes (NOTES-seed.md d).
/// With a constant rate both conventions give identical trajectories.
///
/// Each update formula is written once (sgd_formula, momentum_formula) for numbers and tensors:
/// step() runs it in plain loops, and sgd_update / momentum_update record it on the tape so a step
/// can be differentiated (d loss-after-step / d eta: hypergradients).
#include "nn/optim/optimizer.hpp"

namespace tapegrad::nn::optim {

/// SGD's options (PyTorch's names, plus the seed's conventions).
struct SGDOptions {
  double lr = 0.01;       ///< eta (eq. 6)
  double momentum = 0.0;  ///< alpha in eq. 26
  /// Rescale the velocity when the rate changes (PyTorch's convention); off = the seed's eq. 26.
  bool pytorch_lr_scaling = false;
  /// Hypergradient descent of the rate (Baydin et al. 2018): eta <- eta + beta g_t . g_(t-1), the
  /// gradient step on d L(w_t) / d eta = -g_t . g_(t-1). 0 turns it off.
  double hypergradient_lr = 0.0;
  double weight_decay = 0.0;  ///< L2 penalty added to the gradient
  bool nesterov = false;      ///< Nesterov momentum (PyTorch's form)
};

/// w - eta g (eq. 8-9).
template <class T, class Rate>
T sgd_formula(const T& w, const T& g, const Rate& eta) {
  return w - eta * g;
}
/// The new velocity alpha Delta - eta g (eq. 26).
template <class T, class Rate>
T momentum_formula(const T& delta, const T& g, const Rate& eta, double alpha) {
  return delta * alpha - eta * g;
}

/// sgd_formula as tape ops (g is taken as a constant: it is the gradient at the step's start).
Tensor sgd_update(const Tensor& w, const Tensor& g, const Tensor& eta);
/// momentum_formula as tape ops.
Tensor momentum_update(const Tensor& delta, const Tensor& g, const Tensor& eta, double alpha);

/// Stochastic gradient descent (seed eq. 6-9), with momentum (eq. 26-27).
class SGD : public OptimizerOf<SGDOptions> {
 public:
  /// One group of parameters (ValueError for a bad option).
  SGD(std::vector<Tensor> params, SGDOptions options);
  /// Parameter groups, each with its own options.
  explicit SGD(std::vector<ParamGroup<SGDOptions>> groups);
  void step() override;
  /// Delta of parameter i (zeros without momentum).
  const Array& velocity(size_t i);

 private:
  void on_lr_change(size_t group, double old_lr, double new_lr) override;
  bool momentum_ = false, hypergradient_ = false;
  std::vector<double> dots_;  ///< per group: g_t . g_(t-1) (hypergradient)
};

}  // namespace tapegrad::nn::optim
