#pragma once
// What the peer benchmarks' main() functions share: OpenMP's wait policy set to passive before any
// OpenMP runtime loads (re-running the program with it set: libgomp reads it at load time), and a
// `--threads=N` option that sets ours (elementwise pool and BLAS) and libtorch's thread counts.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "autodiff/threads.hpp"
#ifdef TAPEGRAD_BENCH_TORCH
#include <fmt/format.h>

#include "torch_peer.hpp"
#endif

namespace bench {

/// Returns the thread count; removes --threads=N from the arguments left for Google Benchmark.
inline int setup_threads(int argc, char** argv, std::vector<char*>& rest) {
  if (!std::getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: then go on as we are
  }
  int threads = 1;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      threads = std::atoi(argv[i] + 10);
    } else {
      rest.push_back(argv[i]);
    }
  }
  tapegrad::set_num_threads(threads);
  return threads;
}

inline void run_benchmarks(std::vector<char*>& args) {
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}

/// main() of a program whose peer is libtorch (when built with it): --threads for both, libtorch's
/// version and backends on stderr, then the registered benchmarks.
inline int run_with_torch_peer(int argc, char** argv) {
  std::vector<char*> args;
  [[maybe_unused]] const int threads = setup_threads(argc, argv, args);
#ifdef TAPEGRAD_BENCH_TORCH
  set_torch_threads(threads);
  fmt::print(stderr, "{}\n", torch_description());
#endif
  run_benchmarks(args);
  return 0;
}

}  // namespace bench
