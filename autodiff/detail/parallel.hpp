#pragma once
// A small persistent thread pool for large elementwise loops. Idle workers sleep on a condition
// variable (they never spin), so they do not compete with the BLAS's own threads.
#include <cstdint>
#include <type_traits>
#include <utility>

namespace tapegrad::detail {

/// Elementwise loops at least this long run on every core; shorter ones stay serial.
inline constexpr int64_t kParallelThreshold = 1 << 15;
/// The same for loops that stream over memory with one or two flops per element (SGD's update):
/// below this, waking a pool worker (it sleeps between loops) costs more than its share saves.
/// Measured on a 2-core VM: SGD over 200 k + 65 k floats on two threads made a batch-1 MLP step
/// 15-25% slower than on one.
inline constexpr int64_t kStreamingThreshold = 1 << 18;

/// Runs body(begin, end) over chunks covering [0, n), on the calling thread and the pool's
/// workers; returns when every chunk is done. Serial when there is one core, when called from a
/// worker, or while another thread is using the pool.
void parallel_chunks(int64_t n, void (*body)(void* ctx, int64_t begin, int64_t end), void* ctx);

template <class F>
void parallel_chunks(int64_t n, F&& f) {
  using Fn = std::remove_reference_t<F>;
  parallel_chunks(
      n, [](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace tapegrad::detail
