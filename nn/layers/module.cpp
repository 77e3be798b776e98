#include "nn/layers/module.hpp"

#include <algorithm>

#include "autodiff/error.hpp"
#include "nn/functional/random.hpp"

namespace tapegrad::nn {

void Module::add(std::string name, Kind kind, const void* member) {
  if (name.empty() || name.find('.') != std::string::npos)
    raise<ValueError>("Module: name '{}' must be non-empty and contain no '.'", name);
  if (std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.name == name; }))
    raise<ValueError>("Module: '{}' is registered twice", name);
  const std::ptrdiff_t offset = static_cast<const char*>(member) - reinterpret_cast<const char*>(this);
  // A data member lies just after the Module subobject; anything else would dangle once the module
  // moves. This catches objects far from the module (a heap module registering a local, or the
  // reverse); a local right next to a module on the stack cannot be told from a member.
  constexpr std::ptrdiff_t kMaxModuleSize = std::ptrdiff_t{1} << 20;
  if (offset < static_cast<std::ptrdiff_t>(sizeof(Module)) || offset > kMaxModuleSize)
    raise<ValueError>("Module: '{}' is not a data member of this module (register members only)", name);
  entries_.push_back({std::move(name), kind, offset});
}

void Module::register_parameter(std::string name, Tensor& member) {
  if (!member.is_leaf()) raise<ValueError>("Module: parameter '{}' must be a leaf tensor", name);
  member.requires_grad(true);
  add(std::move(name), Kind::parameter, &member);
}
void Module::register_buffer(std::string name, Tensor& member) {
  if (!member.is_leaf()) raise<ValueError>("Module: buffer '{}' must be a leaf tensor", name);
  add(std::move(name), Kind::buffer, &member);
}
void Module::register_module(std::string name, Module& member) { add(std::move(name), Kind::module, &member); }

void Module::for_each_child(const std::function<void(const std::string&, Module&)>& f) {
  for (const Entry& e : entries_)
    if (e.kind == Kind::module) f(e.name, member<Module>(e));
}
void Module::for_each_child(const std::function<void(const std::string&, const Module&)>& f) const {
  const_cast<Module*>(this)->for_each_child([&](const std::string& name, Module& m) { f(name, m); });
}

void Module::collect(const std::string& prefix, Kind kind, NamedTensors& out) const {
  for (const Entry& e : entries_)
    if (e.kind == kind) out.emplace_back(prefix + e.name, member<Tensor>(e));
  for_each_child([&](const std::string& name, const Module& m) { m.collect(prefix + name + ".", kind, out); });
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", Kind::parameter, out);
  return out;
}
NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", Kind::buffer, out);
  return out;
}
std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}
std::vector<Tensor> Module::buffers() const {
  std::vector<Tensor> out;
  for (auto& [name, b] : named_buffers()) out.push_back(b);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for_each_child([on](const std::string&, Module& m) { m.train(on); });
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

Module& Module::to(DType dtype) {
  auto convert = [dtype](Tensor t) {
    if (t.dtype() == dtype) return;
    Array converted(t.shape(), dtype);
    converted.assign(t.value());
    t.mutable_value() = std::move(converted);
    t.zero_grad();
  };
  for (const Tensor& p : parameters()) convert(p);
  for (const Tensor& b : buffers()) convert(b);
  return *this;
}

void Module::seed(uint64_t s) {
  on_seed(s);
  uint64_t child = 0;
  for_each_child([&](const std::string&, Module& m) {
    m.seed(mix_seed(s, child++));  // independent streams for the children
  });
}

}  // namespace tapegrad::nn
