#pragma once
/// \file
/// Parallel loops for ops and optimizers: tapegrad's own small thread pool (its workers sleep
/// between loops, so they do not compete with the BLAS's threads). How many threads it uses is
/// set with set_num_threads (autodiff/threads.hpp).
#include <cstdint>

#include "autodiff/detail/parallel.hpp"

namespace tapegrad {

/// Elementwise loops at least this long run on every core; shorter ones stay serial.
inline constexpr int64_t kParallelThreshold = 1 << 15;
/// The same for loops that stream over memory with one or two flops per element (SGD's update):
/// below this, waking a pool worker (it sleeps between loops) costs more than its share saves.
/// Measured on a 2-core VM: SGD over 200 k + 65 k floats on two threads made a batch-1 MLP step
/// 15-25% slower than on one.
inline constexpr int64_t kStreamingThreshold = 1 << 18;

/// body(ctx, begin, end) over chunks covering [0, n), one per thread at most, on the pool's threads
/// (serially with one thread, from a worker, or while another thread uses the pool): for loops of
/// a few heavy iterations, such as a convolution's shares of images, that keep per-chunk state.
inline void parallel_chunks(int64_t n, void (*body)(void* ctx, int64_t begin, int64_t end), void* ctx) {
  detail::parallel_chunks(n, body, ctx);
}

/// f(i) for i in [0, n), in vector lanes (`omp simd`), split across the pool's threads from
/// `threshold` elements on. f must not throw, and iterations must be independent.
template <class F>
void parallel_for(int64_t n, F&& f, int64_t threshold = kParallelThreshold) {
  auto chunk = [&f](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) f(i);
  };
  if (n >= threshold)
    detail::parallel_chunks(n, chunk);
  else
    chunk(0, n);
}

}  // namespace tapegrad
