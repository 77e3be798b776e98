#pragma once
/// \file
/// The neuron activations sigma_k (seed eq. 1, 16) by name: tape-free vocabulary shared by the
/// network graph (nn/seed/network.hpp), the tape's activate() (nn/functional/activation.hpp) and the
/// closed-form reference, each of which computes sigma and sigma' on its own.
#include <string_view>

namespace tapegrad::nn {

/// The activations a seed network's neuron or the reference MLP may use.
enum class Activation { identity, sigmoid, tanh, relu, leaky_relu, softplus };

/// Slope of leaky_relu for negative inputs.
inline constexpr double kLeakySlope = 0.01;

/// "identity", "sigmoid", ... (the names the JSON format and the command line use).
std::string_view activation_name(Activation a);
/// ValueError naming the unknown name and the known ones.
Activation activation_from_name(std::string_view name);

}  // namespace tapegrad::nn
