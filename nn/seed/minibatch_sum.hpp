#pragma once
/// \file
/// The sums over a minibatch in the seed networks' backward (d beta_k, d w_kl: eq. 2-3, 12), written
/// once for the tape's neuron op and the closed-form reference, so the two race on the same loops.
/// Tape-free.
#include <cstdint>

namespace tapegrad::nn {

/// Below this many examples, loops in order (one pass per example) beat vectorised ones (batch 1).
inline constexpr int64_t kFewExamples = 4;

/// The sum that add(i, sum) builds over examples i in [0, m): in order below kFewExamples, in vector
/// lanes from there on (omp simd reduction; one chain of adds per example would bound the loop).
template <class Add>
double minibatch_sum(int64_t m, Add add) {
  double sum = 0;
  if (m < kFewExamples) {
    for (int64_t i = 0; i < m; ++i) add(i, sum);
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < m; ++i) add(i, sum);
  }
  return sum;
}

}  // namespace tapegrad::nn
