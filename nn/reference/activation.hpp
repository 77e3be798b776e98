#pragma once
/// \file
/// Neuron activations sigma_k (seed eq. 1, 16) and their derivatives as plain scalar functions, for
/// the closed-form reference: no tape, and no code shared with the tape's activations.
#include <cstddef>

#include "nn/functional/activation_kind.hpp"

namespace tapegrad::nn {

/// sigma(x)
double activate(Activation a, double x);
/// sigma'(x) read from y = sigma(x) alone (every activation here allows it).
double activate_derivative_from_output(Activation a, double y);
///@{
/// The same over a row of n values (the switch hoisted out of the loop). The derivative row reads
/// y = sigma(x) too: sigmoid' = y (1 - y) and tanh' = 1 - y^2 need no second exp/tanh.
void activate_row(Activation a, const double* x, double* y, size_t n);
void activate_derivative_row(Activation a, const double* x, const double* y, double* dy, size_t n);
///@}

/// y = sigma(y) over n values, float or double (relu vectorised).
template <class T>
void activate_in_place(Activation a, T* y, size_t n);
/// d *= sigma'(x) over n values, read from y = sigma(x) (the lambda equations' sigma', eq. 4-5).
template <class T>
void times_slope(Activation a, const T* y, T* d, size_t n);

}  // namespace tapegrad::nn
