#include "autodiff/threads.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

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
}  // namespace

void set_num_threads(int n) {
  if (n < 1) raise<ValueError>("set_num_threads: need at least 1 thread, got {}", n);
  configured().store(std::min(n, cores()));
}

int num_threads() { return configured().load(); }

}  // namespace tapegrad
