#include "autodiff/threads.hpp"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "autodiff/detail/threading.hpp"
#include "autodiff/error.hpp"

namespace tapegrad {

namespace {

int cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

int from_environment() {
  const char* env = std::getenv("TAPEGRAD_NUM_THREADS");
  if (!env || !*env) return cores();
  char* end = nullptr;
  const long n = std::strtol(env, &end, 10);
  if (*end != '\0' || n < 1)
    raise<ValueError>("TAPEGRAD_NUM_THREADS must be a positive integer, got '{}'", std::string(env).substr(0, 32));
  return static_cast<int>(std::min<long>(n, cores()));
}

std::atomic<int>& configured() {
  static std::atomic<int> n{from_environment()};
  return n;
}
std::atomic<int> blas_current{0};  // what the BLAS was last told (0: not yet)

void tell_blas(int n) {
  if (blas_current.exchange(n) != n) openblas_set_num_threads(n);
}

}  // namespace

void set_num_threads(int n) {
  if (n < 1) raise<ValueError>("set_num_threads: need at least 1 thread, got {}", n);
  configured().store(std::min(n, cores()));
}

int num_threads() { return configured().load(); }

namespace detail {

void prepare_blas(int64_t multiply_adds) {
  // Threads cost more than they give on small products (OpenBLAS on 2 threads: a 128x10x256 sgemm
  // ran at 15 GFLOP/s against 47 on one).
  constexpr int64_t kThreadedGemm = int64_t{1} << 22;
  tell_blas(multiply_adds < kThreadedGemm ? 1 : num_threads());
}

}  // namespace detail

}  // namespace tapegrad
