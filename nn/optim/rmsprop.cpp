#include "nn/optim/rmsprop.hpp"

#include <cmath>

#include "autodiff/parallel.hpp"

namespace tapegrad::nn::optim {

namespace {
std::vector<ParamGroup<RMSPropOptions>> validated(std::vector<ParamGroup<RMSPropOptions>> groups) {
  for (const auto& g : groups) {
    const RMSPropOptions& o = g.options;
    require(o.alpha >= 0.0 && o.alpha < 1.0, "RMSProp", "alpha", "in [0, 1)", o.alpha);
    require(o.eps > 0.0 && o.eps < 1e300, "RMSProp", "eps", "finite and > 0", o.eps);
    require(o.weight_decay >= 0.0 && o.weight_decay < 1e300, "RMSProp", "weight_decay", "finite and >= 0",
            o.weight_decay);
    require(o.momentum >= 0.0 && o.momentum < 1.0, "RMSProp", "momentum", "in [0, 1)", o.momentum);
  }
  return groups;
}
}  // namespace

RMSProp::RMSProp(std::vector<ParamGroup<RMSPropOptions>> groups)
    : OptimizerOf("RMSProp", validated(std::move(groups)), {"square_avg", "momentum_buffer"}) {}
RMSProp::RMSProp(std::vector<Tensor> params, RMSPropOptions options) : RMSProp({{std::move(params), options}}) {}

void RMSProp::step() {
  begin_step();
  for_each_param([&](size_t i, auto v) {
    using T = std::remove_pointer_t<decltype(v.w)>;
    const RMSPropOptions& o = param_options(i);
    const T lr = static_cast<T>(o.lr), alpha = static_cast<T>(o.alpha), eps = static_cast<T>(o.eps);
    const T decay = static_cast<T>(o.weight_decay), mu = static_cast<T>(o.momentum);
    const bool momentum = o.momentum > 0;
    T* w = v.w;
    const T* g = v.g;
    T* s = v.state[0];
    T* b = v.state[1];
    parallel_for(v.n, [=](int64_t j) {
      const T gj = g[j] + decay * w[j];
      s[j] = alpha * s[j] + (T(1) - alpha) * gj * gj;
      const T scaled = gj / (std::sqrt(s[j]) + eps);
      if (momentum) {
        b[j] = mu * b[j] + scaled;
        w[j] -= lr * b[j];
      } else {
        w[j] -= lr * scaled;
      }
    });
  });
}

}  // namespace tapegrad::nn::optim
