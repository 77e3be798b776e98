#include "nn/functional/activation_kind.hpp"

#include <array>
#include <utility>

#include "autodiff/error.hpp"

namespace tapegrad::nn {

namespace {
constexpr std::array<std::pair<Activation, std::string_view>, 6> kNames{{{Activation::identity, "identity"},
                                                                         {Activation::sigmoid, "sigmoid"},
                                                                         {Activation::tanh, "tanh"},
                                                                         {Activation::relu, "relu"},
                                                                         {Activation::leaky_relu, "leaky_relu"},
                                                                         {Activation::softplus, "softplus"}}};
}  // namespace

std::string_view activation_name(Activation a) {
  for (auto [act, name] : kNames)
    if (act == a) return name;
  return "unknown";
}

Activation activation_from_name(std::string_view name) {
  for (auto [act, n] : kNames)
    if (n == name) return act;
  raise<ValueError>("unknown activation {} (known: identity, sigmoid, tanh, relu, leaky_relu, softplus)",
                    quote_excerpt(name));
}

}  // namespace tapegrad::nn
