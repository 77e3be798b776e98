#pragma once
/// \file
/// The optimizer base: parameter groups with their own options, zero_grad(), step(), and the state
/// a checkpoint saves. Optimizers hold the parameters' shared handles (Tensor), never pointers into
/// a module. step() runs plain loops over the float32 or float64 buffers: it needs no tape and,
/// once warm, allocates nothing. Its per-parameter state is allocated once, at construction, with
/// the parameters' shapes and dtypes: make the optimizer after model.to(dtype).
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/error.hpp"
#include "autodiff/tensor.hpp"

namespace tapegrad::nn::optim {

/// (name, array) pairs: an optimizer's saved state.
using NamedArrays = std::vector<std::pair<std::string, Array>>;

/// ValueError "<optimizer>: <what> must be <rule>, got <value>" unless ok.
inline void require(bool ok, const char* optimizer, const char* what, const char* rule, double value) {
  if (!ok) raise<ValueError>("{}: {} must be {}, got {}", optimizer, what, rule, value);
}

/// Some parameters with their own options.
template <class Options>
struct ParamGroup {
  std::vector<Tensor> params;  ///< the parameters of the group
  Options options;             ///< their options (learning rate, ...)
};

/// Base of the optimizers: the parameters, their per-parameter state buffers, rate access and
/// checkpointable state. step() is defined by each optimizer.
class Optimizer {
 public:
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  virtual ~Optimizer() = default;

  /// Sets every parameter's gradient to zero.
  void zero_grad();
  /// One update from the accumulated gradients.
  virtual void step() = 0;

  /// Number of parameter groups.
  virtual size_t num_groups() const = 0;
  /// A group's learning rate.
  virtual double lr(size_t group = 0) const = 0;
  /// Sets the rate of one group, or of every group.
  virtual void set_lr(size_t group, double lr) = 0;
  /// Sets every group's rate.
  void set_lr(double lr);
  /// Every parameter, groups in order.
  const std::vector<Tensor>& params() const { return params_; }
  /// Steps taken (Adam's bias correction counts them).
  int64_t steps() const { return steps_; }
  /// "SGD", "Adam", ...
  const char* name() const { return name_; }

  /// The state a checkpoint saves: the kind ("kind.Adam", an empty array whose name says it),
  /// per-parameter buffers ("exp_avg.3") and "scalars" (steps, then each group's rate).
  NamedArrays state() const;
  /// Restores state(): checks every name, shape and dtype first (ValueError naming the first
  /// mismatch) and changes nothing unless all match.
  void load_state(const NamedArrays& state);

 protected:
  /// The optimizer `name` over the groups' parameters, with one state buffer per parameter for each
  /// of buffer_kinds (zeros of the parameter's shape).
  Optimizer(const char* name, std::vector<std::vector<Tensor>> groups, std::vector<std::string> buffer_kinds);

  /// Pointers to one parameter's value, gradient and state buffers, typed.
  template <class T>
  struct ParamView {
    T* w;                     ///< value (updated in place)
    const T* g;               ///< gradient
    int64_t n;                ///< element count
    std::array<T*, 2> state;  ///< the buffer kinds, in order
  };
  /// Sets a group's rate as saved (no rescaling hooks).
  virtual void restore_lr(size_t group, double lr) = 0;
  /// Checks that no parameter changed shape or dtype since construction and counts the step.
  void begin_step();
  /// f(i, view) with the element type of parameter i.
  template <class F>
  void for_each_param(F&& f) {
    for (size_t i = 0; i < params_.size(); ++i) {
      Tensor& p = params_[i];
      visit(p.dtype(), [&]<class T>(T) {
        ParamView<T> v{p.mutable_value().data<T>(), p.grad().data<T>(), p.numel(), {nullptr, nullptr}};
        for (size_t k = 0; k < buffers_.size(); ++k) v.state[k] = buffers_[k][i].data<T>();
        f(i, v);
      });
    }
  }
  /// The group parameter `param` belongs to.
  size_t group_of(size_t param) const { return group_of_[param]; }
  /// State buffer `kind` of parameter `param`.
  Array& buffer(size_t kind, size_t param) { return buffers_[kind][param]; }

 private:
  const char* name_;
  std::vector<Tensor> params_;
  std::vector<size_t> group_of_;
  std::vector<Shape> layout_;  ///< each parameter's shape and dtype at construction
  std::vector<DType> dtypes_;
  std::vector<std::string> kinds_;
  std::vector<std::vector<Array>> buffers_;  ///< [kind][param], zero at start
  int64_t steps_ = 0;
};

/// The groups of one options type: the options of each, rate access, validation at construction.
template <class Options>
class OptimizerOf : public Optimizer {
 public:
  /// Number of parameter groups.
  size_t num_groups() const override { return groups_.size(); }
  /// A group's learning rate.
  double lr(size_t group = 0) const override { return options(group).lr; }
  /// Sets one group's rate (ValueError unless finite and >= 0); on_lr_change sees old and new.
  void set_lr(size_t group, double lr) override {
    check_lr(lr);
    on_lr_change(group, options(group).lr, lr);
    groups_.at(group).options.lr = lr;
  }
  /// set_lr(lr) for every group.
  using Optimizer::set_lr;
  /// A group's options (ValueError for a group that does not exist).
  const Options& options(size_t group = 0) const {
    if (group >= groups_.size()) raise<ValueError>("{}: no parameter group {}", name(), group);
    return groups_[group].options;
  }

 protected:
  /// Checks every group's rate and takes the parameters.
  OptimizerOf(const char* name, std::vector<ParamGroup<Options>> groups, std::vector<std::string> kinds)
      : Optimizer(name, params_of(groups), std::move(kinds)), groups_(std::move(groups)) {
    for (auto& g : groups_) {
      check_lr(g.options.lr);
      g.params.clear();  // the base holds them
    }
  }
  /// Called before a group's rate changes (implicit SGD rescales its state).
  virtual void on_lr_change(size_t /*group*/, double /*old_lr*/, double /*new_lr*/) {}
  /// Sets a group's rate as saved, without on_lr_change.
  void restore_lr(size_t group, double lr) override { groups_.at(group).options.lr = lr; }
  /// The options of the group parameter `param` belongs to.
  const Options& param_options(size_t param) const { return groups_[group_of(param)].options; }

 private:
  void check_lr(double lr) const {
    require(lr >= 0.0 && lr < 1e300, name(), "learning rate lr", "finite and >= 0", lr);
  }
  static std::vector<std::vector<Tensor>> params_of(const std::vector<ParamGroup<Options>>& groups) {
    std::vector<std::vector<Tensor>> out;
    for (const auto& g : groups) out.push_back(g.params);
    return out;
  }
  std::vector<ParamGroup<Options>> groups_;
};

}  // namespace tapegrad::nn::optim
