// Interposes glibc's malloc family to count heap calls and live bytes (see alloc_stats.hpp).
// Not linked into sanitizer builds: ASan has its own allocator.
#include "alloc_stats.hpp"

#include <malloc.h>

#include <atomic>
#include <cstddef>

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {
std::atomic<uint64_t> g_calls{0};
std::atomic<int64_t> g_live{0}, g_peak{0};

void* noted(void* p) {
  if (!p) return p;
  g_calls.fetch_add(1, std::memory_order_relaxed);
  const int64_t live = g_live.fetch_add(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed) +
                       static_cast<int64_t>(malloc_usable_size(p));
  int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (live > peak && !g_peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
  return p;
}
void forget(void* p) {
  if (p) g_live.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(size_t n) { return noted(__libc_malloc(n)); }
void* calloc(size_t k, size_t n) { return noted(__libc_calloc(k, n)); }
void* realloc(void* p, size_t n) {
  forget(p);
  return noted(__libc_realloc(p, n));
}
void free(void* p) {
  forget(p);
  __libc_free(p);
}
void* memalign(size_t align, size_t n) { return noted(__libc_memalign(align, n)); }
void* aligned_alloc(size_t align, size_t n) { return noted(__libc_memalign(align, n)); }
int posix_memalign(void** out, size_t align, size_t n) {
  void* p = noted(__libc_memalign(align, n));
  if (!p && n) return 12;  // ENOMEM
  *out = p;
  return 0;
}
}

namespace bench {
HeapCounters heap_counters() { return {g_calls.load(), g_live.load(), g_peak.load()}; }
void reset_heap_peak() { g_peak.store(g_live.load()); }
}  // namespace bench
