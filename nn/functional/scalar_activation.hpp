#pragma once
// Neuron activations sigma_k (seed eq. 1) as plain scalar functions: no tape. The reference
// (nn/reference) uses them directly; the tape model maps each to its tensor op.
#include <cstddef>
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
/// sigma'(x) read from y = sigma(x) alone (every activation here allows it).
double activate_derivative_from_output(Activation a, double y);
/// The same over a row of n values (the switch hoisted out of the loop). The derivative row reads
/// y = sigma(x) too: sigmoid' = y (1 - y) and tanh' = 1 - y^2 need no second exp/tanh.
void activate_row(Activation a, const double* x, double* y, size_t n);
void activate_derivative_row(Activation a, const double* x, const double* y, double* dy, size_t n);

}  // namespace tapegrad::nn
