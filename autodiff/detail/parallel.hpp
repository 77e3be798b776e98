#pragma once
// A small persistent thread pool for large elementwise loops (internal: ops and optimizers call
// parallel_for, autodiff/parallel.hpp). Idle workers sleep on a condition
// variable (they never spin), so they do not compete with the BLAS's own threads.
#include <cstdint>
#include <type_traits>
#include <utility>

namespace tapegrad::detail {

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
