#pragma once
// Neuron activations sigma_k (seed eq. 1) as plain scalar functions: no tape. The reference
// (nn/reference) uses them directly; the tape model maps each to its tensor op.
#include <string_view>

namespace tapegrad::nn {

enum class Activation { identity, sigmoid, tanh, relu, leaky_relu, softplus };

/// Slope of leaky_relu for negative inputs.
inline constexpr double kLeakySlope = 0.01;

std::string_view activation_name(Activation a);
/// ValueError naming the unknown name and the known ones.
Activation activation_from_name(std::string_view name);

/// sigma(x)
double activate(Activation a, double x);
/// sigma'(x) (at relu's kink: 0)
double activate_derivative(Activation a, double x);

}  // namespace tapegrad::nn
