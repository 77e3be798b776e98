#include "nn/reference/activation.hpp"

#include <algorithm>
#include <cmath>

// The reference's own sigma and sigma': written here, not taken from the tape's
// autodiff/elementwise_math.hpp, since the reference checks the tape and must not share its code
// (nn_reference links no tape code, and tests/reference's allow-list keeps its includes apart).
namespace tapegrad::nn {

namespace {
double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}
double relu(double x) { return x > 0 || std::isnan(x) ? x : 0.0; }  // NaN propagates
}  // namespace

double activate(Activation a, double x) {
  switch (a) {
    case Activation::identity: return x;
    case Activation::sigmoid: return sigmoid(x);
    case Activation::tanh: return std::tanh(x);
    case Activation::relu: return relu(x);
    case Activation::leaky_relu: return x > 0 ? x : kLeakySlope * x;
    case Activation::softplus: return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x)));
  }
  return x;
}

double activate_derivative_from_output(Activation a, double y) {
  switch (a) {
    case Activation::identity: return 1.0;
    case Activation::sigmoid: return y * (1.0 - y);
    case Activation::tanh: return 1.0 - y * y;
    case Activation::relu: return y > 0 ? 1.0 : 0.0;  // y > 0 exactly when x > 0
    case Activation::leaky_relu: return y > 0 ? 1.0 : kLeakySlope;
    case Activation::softplus: return -std::expm1(-y);  // e^-y = 1 / (1 + e^x), so 1 - e^-y = sigmoid(x)
  }
  return 1.0;
}

void activate_row(Activation a, const double* x, double* y, size_t n) {
  switch (a) {  // one loop per activation: no switch inside the loop
    case Activation::identity: std::copy(x, x + n, y); break;
    case Activation::sigmoid:
      for (size_t i = 0; i < n; ++i) y[i] = sigmoid(x[i]);
      break;
    case Activation::tanh:
      for (size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      break;
    case Activation::relu:
      for (size_t i = 0; i < n; ++i) y[i] = relu(x[i]);
      break;
    case Activation::leaky_relu:
      for (size_t i = 0; i < n; ++i) y[i] = x[i] > 0 ? x[i] : kLeakySlope * x[i];
      break;
    case Activation::softplus:
      for (size_t i = 0; i < n; ++i) y[i] = activate(Activation::softplus, x[i]);
      break;
  }
}

void activate_derivative_row(Activation a, const double* x, const double* y, double* dy, size_t n) {
  switch (a) {
    case Activation::identity: std::fill(dy, dy + n, 1.0); break;
    case Activation::sigmoid:
      for (size_t i = 0; i < n; ++i) dy[i] = y[i] * (1.0 - y[i]);
      break;
    case Activation::tanh:
      for (size_t i = 0; i < n; ++i) dy[i] = 1.0 - y[i] * y[i];
      break;
    case Activation::relu:
      for (size_t i = 0; i < n; ++i) dy[i] = x[i] > 0 ? 1.0 : 0.0;
      break;
    case Activation::leaky_relu:
      for (size_t i = 0; i < n; ++i) dy[i] = x[i] > 0 ? 1.0 : kLeakySlope;
      break;
    case Activation::softplus:
      for (size_t i = 0; i < n; ++i) dy[i] = sigmoid(x[i]);
      break;
  }
}

template <class T>
void activate_in_place(Activation a, T* y, size_t n) {
  if (a == Activation::relu) {
#pragma omp simd
    for (size_t i = 0; i < n; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
    return;
  }
  for (size_t i = 0; i < n; ++i) y[i] = static_cast<T>(activate(a, double(y[i])));
}

template <class T>
void times_slope(Activation a, const T* y, T* d, size_t n) {
  if (a == Activation::relu) {
#pragma omp simd
    for (size_t i = 0; i < n; ++i) d[i] = y[i] > T(0) ? d[i] : T(0);
    return;
  }
  for (size_t i = 0; i < n; ++i) d[i] *= static_cast<T>(activate_derivative_from_output(a, double(y[i])));
}

template void activate_in_place(Activation, float*, size_t);
template void activate_in_place(Activation, double*, size_t);
template void times_slope(Activation, const float*, float*, size_t);
template void times_slope(Activation, const double*, double*, size_t);

}  // namespace tapegrad::nn
