#include "nn/optim/optimizer.hpp"

#include <fmt/format.h>

namespace tapegrad::nn::optim {

Optimizer::Optimizer(const char* name, std::vector<std::vector<Tensor>> groups, std::vector<std::string> kinds)
    : name_(name), kinds_(std::move(kinds)) {
  TAPEGRAD_ASSERT(kinds_.size() <= 2);
  for (size_t g = 0; g < groups.size(); ++g)
    for (Tensor& p : groups[g]) {
      if (!p.defined() || !p.is_leaf() || !p.requires_grad())
        raise<ValueError>("{}: every parameter must be a leaf tensor with requires_grad(true) (group {}, parameter {})",
                          name_, g, params_.size());
      for (const Tensor& q : params_)
        if (&q.value() == &p.value())
          raise<ValueError>("{}: a parameter appears twice (group {}, parameter {})", name_, g, params_.size());
      params_.push_back(p);
      group_of_.push_back(g);
    }
  if (params_.empty()) raise<ValueError>("{}: no parameters to optimize", name_);
  for (const Tensor& p : params_) {
    layout_.push_back(p.shape());
    dtypes_.push_back(p.dtype());
  }
  buffers_.resize(kinds_.size());
  for (auto& kind : buffers_)
    for (const Tensor& p : params_) kind.emplace_back(p.shape(), p.dtype());
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
  for (size_t g = 0; g < num_groups(); ++g) set_lr(g, lr);
}

void Optimizer::begin_step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    const Array& v = params_[i].value();
    if (!(v.shape() == layout_[i]) || v.dtype() != dtypes_[i])
      raise<ValueError>(
          "{}: parameter {} changed from {} {} to {} {} after the optimizer was made (make it after model.to())", name_,
          i, layout_[i], dtype_name(dtypes_[i]), v.shape(), dtype_name(v.dtype()));
  }
  ++steps_;
}

NamedArrays Optimizer::state() const {
  NamedArrays out;
  out.emplace_back(fmt::format("kind.{}", name_), Array(Shape{0}));  // the name carries the kind: Adam, AdamW, ...
  for (size_t k = 0; k < kinds_.size(); ++k)
    for (size_t i = 0; i < params_.size(); ++i) out.emplace_back(fmt::format("{}.{}", kinds_[k], i), buffers_[k][i]);
  Array scalars(Shape{static_cast<int64_t>(1 + num_groups())});
  scalars.set(0, static_cast<double>(steps_));
  for (size_t g = 0; g < num_groups(); ++g) scalars.set(static_cast<int64_t>(1 + g), lr(g));
  out.emplace_back("scalars", std::move(scalars));
  return out;
}

void Optimizer::load_state(const NamedArrays& state) {
  const NamedArrays expected = this->state();
  if (state.empty() || state.front().first.rfind("kind.", 0) != 0)
    raise<ValueError>("{}: the saved state does not say which optimizer wrote it", name_);
  if (state.front().first != expected.front().first)
    raise<ValueError>("{}: the saved state is {}'s, not {}'s", name_, state.front().first.substr(5), name_);
  if (state.size() != expected.size())
    raise<ValueError>("{}: the saved state has {} entries, this optimizer has {}", name_, state.size(),
                      expected.size());
  for (size_t e = 0; e < state.size(); ++e) {
    const auto& [name, a] = state[e];
    const auto& [want_name, want] = expected[e];
    if (name != want_name)
      raise<ValueError>("{}: saved state entry '{}' where '{}' was expected", name_, name, want_name);
    if (!(a.shape() == want.shape()) || a.dtype() != want.dtype())
      raise<ValueError>("{}: saved state '{}' is {} {}, expected {} {}", name_, name, a.shape(), dtype_name(a.dtype()),
                        want.shape(), dtype_name(want.dtype()));
  }
  const Array& scalars = state.back().second;
  for (size_t g = 0; g < num_groups(); ++g) {
    const double r = scalars.at(static_cast<int64_t>(1 + g));
    if (!(r >= 0.0) || !(r < 1e300)) raise<ValueError>("{}: saved rate of group {} is invalid: {}", name_, g, r);
  }
  if (!(scalars.at(0) >= 0.0 && scalars.at(0) < 9e18)) raise<ValueError>("{}: saved step count is invalid", name_);
  // All checked: apply.
  size_t e = 1;  // after the kind
  for (auto& kind : buffers_)
    for (Array& b : kind) b.assign(state[e++].second);
  steps_ = static_cast<int64_t>(scalars.at(0));
  for (size_t g = 0; g < num_groups(); ++g) restore_lr(g, scalars.at(static_cast<int64_t>(1 + g)));
}

}  // namespace tapegrad::nn::optim
