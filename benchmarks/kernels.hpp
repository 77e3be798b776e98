#pragma once
// The scalar kernels of the benchmarks, written as a user writes them: T = double for the primal,
// T = tapegrad::Var for the gradient.
#include <cmath>
#include <cstddef>

namespace bench {

using std::exp;
using std::log;

/// log-sum-exp: 2 ops per element.
template <class T>
T lse(const T* x, size_t n) {
  T s = 0.0;
  for (size_t i = 0; i < n; ++i) s += exp(x[i]);
  return log(s);
}

/// Stochastic volatility log density: 13 ops per element.
template <class T>
T stoch_vol(const T* h, const T& mu, const T& phi, const T& sigma, const double* y, size_t n) {
  T lp = 0.0;
  for (size_t t = 1; t < n; ++t) {
    T r = (h[t] - mu - phi * (h[t - 1] - mu)) / sigma;
    lp += -0.5 * r * r - log(sigma);
  }
  for (size_t t = 0; t < n; ++t) lp += -0.5 * h[t] - 0.5 * y[t] * y[t] * exp(-h[t]);
  return lp;
}

/// Sum loop: 1 op per element.
template <class T>
T sum_loop(const T* x, size_t n) {
  T s = 0.0;
  for (size_t i = 0; i < n; ++i) s += x[i];
  return s;
}

/// Product loop: 1 op per element.
template <class T>
T product_loop(const T* x, size_t n) {
  T p = 1.0;
  for (size_t i = 0; i < n; ++i) p *= x[i];
  return p;
}

}  // namespace bench
