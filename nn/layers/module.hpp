#pragma once
/// \file
/// Module: the base of every layer and model. A module registers each parameter, buffer and
/// submodule in one line from its constructor and gets, for free, parameters() and
/// named_parameters() (dotted names such as "0.weight"), buffers(), train()/eval() (propagated),
/// zero_grad(), to(dtype) and seed() (random layers).
///
///   struct Block : nn::Module {
///     nn::Linear fc;
///     Tensor scale = Tensor::ones({1}).requires_grad(true);
///     Block(std::mt19937_64& rng) : fc(4, 4, rng) {
///       register_module("fc", fc);
///       register_parameter("scale", scale);
///     }
///     Tensor forward(const Tensor& x) override { return relu(fc(x)) * scale; }
///   };
///
/// Modules are not copyable (a copy would share or duplicate parameters silently); they move. The
/// registry records members by their offset inside the module, so a moved module still finds them.
/// Optimizers hold the parameters' shared handles (Tensor), so moving a module never leaves one
/// pointing at dead memory.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/tensor.hpp"

namespace tapegrad::nn {

/// (name, tensor) pairs, names dotted by submodule ("0.weight", "bn.running_mean").
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// Base of the layers: registers parameters, buffers and submodules (PyTorch's nn::Module), walks
/// them, switches training and evaluation mode, converts dtype. Modules are movable, not copyable.
class Module {
 public:
  Module() = default;
  ///@{
  /// Not copyable (parameters are leaves that hold their gradients); movable.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) noexcept = default;
  Module& operator=(Module&&) noexcept = default;
  ///@}
  virtual ~Module() = default;

  /// The module's computation, recorded on the active tape.
  virtual Tensor forward(const Tensor& x) = 0;
  /// Same as forward(x).
  Tensor operator()(const Tensor& x) { return forward(x); }

  /// Trainable leaves, depth first in registration order.
  std::vector<Tensor> parameters() const;
  /// parameters() with their dotted names.
  NamedTensors named_parameters() const;
  /// State that is saved but not trained (batch-norm running statistics).
  std::vector<Tensor> buffers() const;
  /// buffers() with their dotted names.
  NamedTensors named_buffers() const;

  /// Training mode (batch statistics, random masks) or evaluation mode, for this module and every
  /// submodule.
  void train(bool on = true);
  /// train(false).
  void eval() { train(false); }
  /// Whether the module is in training mode (the default).
  bool is_training() const { return training_; }
  /// Zeroes every parameter's gradient.
  void zero_grad();
  /// Converts every parameter and buffer (their gradients are reset). Make optimizers after this.
  Module& to(DType dtype);
  /// Reseeds the random layers below this module (each gets its own stream derived from s).
  void seed(uint64_t s);

  /// Calls f(name, submodule) for the direct submodules.
  virtual void for_each_child(const std::function<void(const std::string&, Module&)>& f);
  /// The same, read-only.
  void for_each_child(const std::function<void(const std::string&, const Module&)>& f) const;

 protected:
  ///@{
  /// Registers data members of this module (ValueError if the object is not one).
  void register_parameter(std::string name, Tensor& member);
  void register_buffer(std::string name, Tensor& member);
  void register_module(std::string name, Module& member);
  ///@}
  /// Random layers override this to reseed their generator.
  virtual void on_seed(uint64_t) {}

 private:
  enum class Kind : uint8_t { parameter, buffer, module };
  struct Entry {
    std::string name;
    Kind kind;
    std::ptrdiff_t offset;  // from this Module subobject
  };
  void add(std::string name, Kind kind, const void* member);
  template <class T>
  T& member(const Entry& e) const {
    return *reinterpret_cast<T*>(const_cast<char*>(reinterpret_cast<const char*>(this)) + e.offset);
  }
  void collect(const std::string& prefix, Kind kind, NamedTensors& out) const;

  std::vector<Entry> entries_;
  bool training_ = true;
};

}  // namespace tapegrad::nn
