#pragma once
/// \file
/// Sequential: modules applied in order; their names are their positions ("0", "1", ...).
///   nn::Sequential model{nn::Linear(784, 256, rng), nn::ReLU(), nn::Linear(256, 10, rng)};
#include <concepts>
#include <memory>
#include <type_traits>
#include <vector>

#include "nn/layers/module.hpp"

namespace tapegrad::nn {

/// Modules applied in order, each to the previous one's output (PyTorch's nn::Sequential).
class Sequential : public Module {
 public:
  Sequential() = default;
  /// Takes the modules by move: `Sequential(Linear(...), ReLU(), Linear(...))`.
  template <class... Ms>
  requires(std::derived_from<std::remove_cvref_t<Ms>, Module>&&...) explicit Sequential(Ms&&... modules) {
    (push_back(std::forward<Ms>(modules)), ...);
  }
  /// Appends a module, moved in (a module is not copyable).
  template <class M>
  requires std::derived_from<std::remove_cvref_t<M>, Module> Sequential& push_back(M&& module) {
    using Owned = std::remove_cvref_t<M>;
    static_assert(!std::is_lvalue_reference_v<M>, "move modules into a Sequential (modules are not copyable)");
    return push_back(std::unique_ptr<Module>(std::make_unique<Owned>(std::move(module))));
  }
  /// Appends a module (ValueError for a null pointer); named by its index, "0", "1", ...
  Sequential& push_back(std::unique_ptr<Module> module);

  Tensor forward(const Tensor& x) override;
  /// Number of modules.
  size_t size() const { return layers_.size(); }
  /// The i-th module (ValueError if out of range).
  Module& operator[](size_t i);
  /// The i-th module as its type (ValueError if it is another type).
  template <class M>
  M& at(size_t i) {
    auto* m = dynamic_cast<M*>(&(*this)[i]);
    if (!m) throw_wrong_type(i);
    return *m;
  }
  void for_each_child(const std::function<void(const std::string&, Module&)>& f) override;

 private:
  [[noreturn]] void throw_wrong_type(size_t i) const;
  std::vector<std::unique_ptr<Module>> layers_;
  std::vector<std::string> names_;
};

}  // namespace tapegrad::nn
