#include "nn/optim/sgd.hpp"

#include <algorithm>

#include "autodiff/ops/elementwise.hpp"
#include "autodiff/parallel.hpp"

namespace tapegrad::nn::optim {

Tensor sgd_update(const Tensor& w, const Tensor& g, const Tensor& eta) { return sgd_formula(w, g.detach(), eta); }

Tensor momentum_update(const Tensor& delta, const Tensor& g, const Tensor& eta, double alpha) {
  return momentum_formula(delta, g.detach(), eta, alpha);
}

namespace {
std::vector<ParamGroup<SGDOptions>> validated(std::vector<ParamGroup<SGDOptions>> groups) {
  for (const auto& g : groups) {
    const SGDOptions& o = g.options;
    require(o.momentum >= 0.0 && o.momentum < 1.0, "SGD", "momentum", "in [0, 1)", o.momentum);
    require(o.hypergradient_lr >= 0.0 && o.hypergradient_lr < 1e300, "SGD", "hypergradient learning rate",
            "finite and >= 0", o.hypergradient_lr);
    require(o.weight_decay >= 0.0 && o.weight_decay < 1e300, "SGD", "weight_decay", "finite and >= 0", o.weight_decay);
    if (o.nesterov && o.momentum == 0.0) raise<ValueError>("SGD: nesterov needs momentum > 0");
  }
  return groups;
}
bool any_group_sets(const std::vector<ParamGroup<SGDOptions>>& groups, double SGDOptions::*field) {
  return std::any_of(groups.begin(), groups.end(), [&](const auto& g) { return g.options.*field > 0.0; });
}
std::vector<std::string> kinds(const std::vector<ParamGroup<SGDOptions>>& groups) {
  std::vector<std::string> k;
  if (any_group_sets(groups, &SGDOptions::momentum)) k.push_back("momentum_buffer");
  if (any_group_sets(groups, &SGDOptions::hypergradient_lr)) k.push_back("previous_grad");
  return k;
}
}  // namespace

SGD::SGD(std::vector<Tensor> params, SGDOptions options) : SGD({{std::move(params), options}}) {}

SGD::SGD(std::vector<ParamGroup<SGDOptions>> groups)
    : OptimizerOf("SGD", validated(groups), kinds(groups)),
      momentum_(any_group_sets(groups, &SGDOptions::momentum)),
      hypergradient_(any_group_sets(groups, &SGDOptions::hypergradient_lr)),
      dots_(groups.size()) {}

const Array& SGD::velocity(size_t i) {
  if (i >= params().size()) raise<ValueError>("SGD: no parameter {}", i);
  static const Array none;
  return momentum_ ? buffer(0, i) : none;
}

void SGD::on_lr_change(size_t group, double old_lr, double new_lr) {
  if (!momentum_ || !options(group).pytorch_lr_scaling || old_lr <= 0.0) return;
  for (size_t i = 0; i < params().size(); ++i) {
    if (group_of(i) != group) continue;
    Array& d = buffer(0, i);
    visit(d.dtype(), [&]<class T>(T) {
      T* pd = d.data<T>();
      const T scale = static_cast<T>(new_lr / old_lr);
      parallel_for(
          d.numel(), [=](int64_t j) { pd[j] *= scale; }, kStreamingThreshold);
    });
  }
}

void SGD::step() {
  begin_step();
  if (hypergradient_) {
    // d L(w_t) / d eta = -g_t . g_(t-1) (w_t = w_(t-1) - eta g_(t-1)); descend on it.
    std::fill(dots_.begin(), dots_.end(), 0.0);
    const size_t prev = momentum_ ? 1 : 0;
    for_each_param([&](size_t i, auto v) {
      double dot = 0;
      for (int64_t j = 0; j < v.n; ++j) {
        dot += static_cast<double>(v.g[j]) * static_cast<double>(v.state[prev][j]);
        v.state[prev][j] = v.g[j];
      }
      dots_[group_of(i)] += dot;
    });
    if (steps() > 1)
      for (size_t g = 0; g < num_groups(); ++g)
        if (options(g).hypergradient_lr > 0) set_lr(g, std::max(0.0, lr(g) + options(g).hypergradient_lr * dots_[g]));
  }
  for_each_param([&](size_t i, auto v) {
    using T = std::remove_pointer_t<decltype(v.w)>;
    const SGDOptions& o = param_options(i);
    const T eta = static_cast<T>(o.lr), decay = static_cast<T>(o.weight_decay);
    T* w = v.w;
    const T* g = v.g;
    if (o.momentum > 0) {
      T* delta = v.state[0];
      const double alpha = o.momentum;
      const bool nesterov = o.nesterov;
      parallel_for(
          v.n,
          [=](int64_t j) {
            const T gj = g[j] + decay * w[j];
            delta[j] = static_cast<T>(momentum_formula(delta[j], gj, eta, alpha));      // eq. 26
            w[j] += nesterov ? static_cast<T>(delta[j] * alpha) - eta * gj : delta[j];  // eq. 27
          },
          kStreamingThreshold);
    } else {
      const bool decays = decay != T(0);  // w read once an element without (the loop is unswitched on it)
      parallel_for(
          v.n, [=](int64_t j) { w[j] = sgd_formula(w[j], decays ? T(g[j] + decay * w[j]) : g[j], eta); },
          kStreamingThreshold);  // eq. 8-9
    }
  });
}

}  // namespace tapegrad::nn::optim
