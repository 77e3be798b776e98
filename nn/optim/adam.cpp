#include "nn/optim/adam.hpp"

#include <cmath>

#include "autodiff/parallel.hpp"

namespace tapegrad::nn::optim {

namespace {
std::vector<ParamGroup<AdamOptions>> validated(const char* name, std::vector<ParamGroup<AdamOptions>> groups) {
  for (const auto& g : groups) {
    const AdamOptions& o = g.options;
    require(o.beta1 >= 0.0 && o.beta1 < 1.0, name, "beta1", "in [0, 1)", o.beta1);
    require(o.beta2 >= 0.0 && o.beta2 < 1.0, name, "beta2", "in [0, 1)", o.beta2);
    require(o.eps > 0.0 && o.eps < 1e300, name, "eps", "finite and > 0", o.eps);
    require(o.weight_decay >= 0.0 && o.weight_decay < 1e300, name, "weight_decay", "finite and >= 0", o.weight_decay);
  }
  return groups;
}
}  // namespace

Adam::Adam(const char* name, std::vector<ParamGroup<AdamOptions>> groups, bool decoupled)
    : OptimizerOf(name, validated(name, std::move(groups)), {"exp_avg", "exp_avg_sq"}), decoupled_(decoupled) {}
Adam::Adam(std::vector<ParamGroup<AdamOptions>> groups) : Adam("Adam", std::move(groups), false) {}
Adam::Adam(std::vector<Tensor> params, AdamOptions options) : Adam({{std::move(params), options}}) {}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions o)
    : Adam("AdamW", {{std::move(params), {o.lr, o.beta1, o.beta2, o.eps, o.weight_decay}}}, true) {}

void Adam::step() {
  begin_step();
  const double t = static_cast<double>(steps());
  for_each_param([&](size_t i, auto v) {
    using T = std::remove_pointer_t<decltype(v.w)>;
    const AdamOptions& o = param_options(i);
    const T b1 = static_cast<T>(o.beta1), b2 = static_cast<T>(o.beta2), eps = static_cast<T>(o.eps);
    const T step = static_cast<T>(o.lr / (1.0 - std::pow(o.beta1, t)));  // lr / bias correction 1
    const T inv_c2 = static_cast<T>(1.0 / std::sqrt(1.0 - std::pow(o.beta2, t)));
    const T l2 = decoupled_ ? T(0) : static_cast<T>(o.weight_decay);
    const T shrink = decoupled_ ? static_cast<T>(1.0 - o.lr * o.weight_decay) : T(1);
    T* w = v.w;
    const T* g = v.g;
    T* m = v.state[0];
    T* s = v.state[1];
    parallel_for(v.n, [=](int64_t j) {
      const T gj = g[j] + l2 * w[j];
      m[j] = b1 * m[j] + (T(1) - b1) * gj;
      s[j] = b2 * s[j] + (T(1) - b2) * gj * gj;
      w[j] = w[j] * shrink - step * m[j] / (std::sqrt(s[j]) * inv_c2 + eps);
    });
  });
}

}  // namespace tapegrad::nn::optim
