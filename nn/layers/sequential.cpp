#include "nn/layers/sequential.hpp"

#include <string>

#include "autodiff/error.hpp"

namespace tapegrad::nn {

Sequential& Sequential::push_back(std::unique_ptr<Module> module) {
  if (!module) raise<ValueError>("Sequential: cannot add a null module");
  module->train(is_training());
  names_.push_back(std::to_string(layers_.size()));
  layers_.push_back(std::move(module));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  if (layers_.empty()) return x;
  Tensor h = layers_[0]->forward(x);
  for (size_t i = 1; i < layers_.size(); ++i) h = layers_[i]->forward(h);
  return h;
}

Module& Sequential::operator[](size_t i) {
  if (i >= layers_.size()) raise<ValueError>("Sequential: index {} out of range for {} modules", i, layers_.size());
  return *layers_[i];
}

void Sequential::throw_wrong_type(size_t i) const {
  raise<ValueError>("Sequential: module {} is not of the requested type", i);
}

void Sequential::for_each_child(const std::function<void(const std::string&, Module&)>& f) {
  Module::for_each_child(f);
  for (size_t i = 0; i < layers_.size(); ++i) f(names_[i], *layers_[i]);
}

}  // namespace tapegrad::nn
