#include "nn/optim/sgd.hpp"

#include <cmath>
#include <numbers>

#include "autodiff/autodiff.hpp"

namespace tapegrad::nn::optim {

Tensor sgd_update(const Tensor& w, const Tensor& g, const Tensor& eta) { return w - eta * g.detach(); }  // eq. 8-9

Tensor momentum_update(const Tensor& delta, const Tensor& g, const Tensor& eta, double alpha) {
  return delta * alpha - eta * g.detach();  // eq. 26
}

SGD::SGD(std::vector<Tensor*> params, SGDOptions options) : params_(std::move(params)), options_(options) {
  if (!(options_.lr >= 0.0)) raise<ValueError>("SGD: invalid learning rate {}", options_.lr);
  if (!(options_.momentum >= 0.0 && options_.momentum < 1.0))
    raise<ValueError>("SGD: momentum must be in [0, 1), got {}", options_.momentum);
  if (!(options_.hypergradient_lr >= 0.0))
    raise<ValueError>("SGD: invalid hypergradient learning rate {}", options_.hypergradient_lr);
  for (const Tensor* p : params_) {
    if (!p || !p->is_leaf() || !p->requires_grad())
      raise<ValueError>("SGD: every parameter must be a leaf tensor with requires_grad(true)");
    if (options_.momentum > 0) velocity_.push_back(Tensor::zeros(p->shape(), p->dtype()));
    if (options_.hypergradient_lr > 0) previous_grad_.push_back(Tensor::zeros(p->shape(), p->dtype()));
    grads_.push_back(Tensor::zeros(p->shape(), p->dtype()));
  }
  eta_ = Tensor::full({}, options_.lr);
}

void SGD::zero_grad() {
  for (Tensor* p : params_) p->zero_grad();
}

void SGD::set_lr(double lr) {
  if (!(lr >= 0.0)) raise<ValueError>("SGD: invalid learning rate {}", lr);
  if (options_.pytorch_lr_scaling && options_.lr > 0)
    for (Tensor& v : velocity_) {
      Array& d = v.mutable_value();
      for (int64_t i = 0; i < d.numel(); ++i) d.set(i, d.at(i) * lr / options_.lr);
    }
  options_.lr = lr;
}

void SGD::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) grads_[i].mutable_value().assign(params_[i]->grad());
  if (options_.hypergradient_lr > 0) {
    // d L(w_t) / d eta = -g_t . g_(t-1) (w_t = w_(t-1) - eta g_(t-1)); descend on it.
    double dot = 0;
    for (size_t i = 0; i < params_.size(); ++i) {
      const Array& g = grads_[i].value();
      Array& prev = previous_grad_[i].mutable_value();
      for (int64_t j = 0; j < g.numel(); ++j) dot += g.at(j) * prev.at(j);
      prev.assign(g);
    }
    if (has_previous_) set_lr(std::max(0.0, options_.lr + options_.hypergradient_lr * dot));
    has_previous_ = true;
  }
  eta_.mutable_value().set(0, options_.lr);
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = *params_[i];
    if (options_.momentum > 0) {
      Tensor& delta = velocity_[i];
      delta.mutable_value().assign(momentum_update(delta, grads_[i], eta_, options_.momentum).value());
      p.mutable_value().assign((p + delta).value());  // eq. 27
    } else {
      p.mutable_value().assign(sgd_update(p, grads_[i], eta_).value());
    }
  }
}

double step_lr(double lr0, int epoch, int step_size, double gamma) {
  if (step_size <= 0) raise<ValueError>("step_lr: step_size must be positive, got {}", step_size);
  return lr0 * std::pow(gamma, epoch / step_size);
}

double cosine_lr(double lr0, int epoch, int t_max, double lr_min) {
  if (t_max <= 0) raise<ValueError>("cosine_lr: t_max must be positive, got {}", t_max);
  const double t = std::min(epoch, t_max);
  return lr_min + 0.5 * (lr0 - lr_min) * (1 + std::cos(std::numbers::pi * t / t_max));
}

}  // namespace tapegrad::nn::optim
