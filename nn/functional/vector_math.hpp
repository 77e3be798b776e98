#pragma once
/// \file
/// sigmoid and tanh for float written branch-free, so that a loop of them vectorises (libm's expf
/// and tanhf are scalar calls): the fused LSTM gates' float path. Within 2 ulp of the exact values
/// (1.5e-7 relative for sigmoid, 1.8e-7 for tanh over [-90, 90]; tests/nn/test_recurrent.cpp), NaN
/// stays NaN. Double precision keeps libm's (autodiff/elementwise_math.hpp).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <initializer_list>

namespace tapegrad::nn::vector_math {

/// exp(x) for x in [-87, 88] (clamped there: the callers below need no more), within 1e-7 relative:
/// x = n ln 2 + r with |r| <= ln 2 / 2, exp(r) by its Taylor polynomial of degree 7, times 2^n.
inline float exp_clamped(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float n = (x * 1.442695041f + 12582912.0f) - 12582912.0f;  // round(x / ln 2): 1.5 * 2^23 drops the fraction
  const float r = (x - n * 0.693145752f) - n * 1.428606765e-6f;    // ln 2 in two parts, the first exact
  float p = 1.0f / 5040.0f;
  for (const float c : {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f}) p = p * r + c;
  const float whole = n == n ? n : 0.0f;  // NaN in, NaN out (through p), without casting NaN
  return p * std::bit_cast<float>((static_cast<int32_t>(whole) + 127) << 23);
}

/// 1 / (1 + exp(-x)).
inline float sigmoid(float x) { return 1.0f / (1.0f + exp_clamped(-x)); }

/// tanh(x): its odd Taylor series through x^17 below |x| = 0.55 (where 1 - 2 / (exp(2|x|) + 1)
/// would cancel), that formula above.
inline float tanh(float x) {
  const float a = std::abs(x), s = x * x;
  float p = 6404582.0f / 10854718875.0f;
  for (const float c : {-929569.0f / 638512875.0f, 21844.0f / 6081075.0f, -1382.0f / 155925.0f, 62.0f / 2835.0f,
                        -17.0f / 315.0f, 2.0f / 15.0f, -1.0f / 3.0f})
    p = p * s + c;
  const float near_zero = x + x * s * p;
  const float away = std::copysign(1.0f - 2.0f / (exp_clamped(2.0f * a) + 1.0f), x);
  return a < 0.55f ? near_zero : away;
}

}  // namespace tapegrad::nn::vector_math
