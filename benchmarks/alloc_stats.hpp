#pragma once
// Heap use of a benchmark step, for ours and for libtorch alike: the malloc family is interposed
// (alloc_stats.cpp, linked only into non-sanitizer builds, where TAPEGRAD_COUNT_ALLOCS is defined),
// so every allocation of the process is seen, whichever library makes it.
#include <benchmark/benchmark.h>

#include <cstdint>

namespace bench {

struct HeapCounters {
  uint64_t calls = 0;      // malloc, calloc, realloc, memalign family (operator new goes through malloc)
  int64_t live_bytes = 0;  // currently allocated (usable size)
  int64_t peak_bytes = 0;  // the largest live_bytes since the last reset_peak()
};

HeapCounters heap_counters();
void reset_heap_peak();

/// Runs two warm-up steps (untimed: buffers sized, lazy BLAS state made), then the timed loop of
/// `state` around `step`, and reports heap calls per warm step and the peak heap above the level
/// before the loop (MiB), when counting is compiled in.
template <class Step>
void run_counting_heap(benchmark::State& state, Step&& step) {
  step();
  step();
#ifdef TAPEGRAD_COUNT_ALLOCS
  reset_heap_peak();
  const HeapCounters before = heap_counters();
#endif
  for (auto _ : state) step();
#ifdef TAPEGRAD_COUNT_ALLOCS
  const HeapCounters after = heap_counters();
  const double steps = static_cast<double>(state.iterations());
  state.counters["allocs_per_step"] = static_cast<double>(after.calls - before.calls) / steps;
  state.counters["peak_MiB"] = static_cast<double>(after.peak_bytes - before.live_bytes) / (1 << 20);
#endif
}

}  // namespace bench
