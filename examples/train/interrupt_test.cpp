// Checks trainer::InterruptWatcher (interrupt.hpp): no thread that computes takes SIGINT or SIGTERM
// (the calling thread and the pool's workers block them), one SIGINT sets requested() while float
// products with a long inner dimension run on oneDNN (the kernel that points its stack into the
// heap), and a second signal does not end the process. Exits non-zero on failure.
#include "interrupt.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "autodiff/blas.hpp"

namespace {

int failures = 0;
void check(bool ok, const char* what) {
  if (!ok) {
    fmt::print(stderr, "FAILED: {}\n", what);
    ++failures;
  }
}

bool blocks_both() {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, SIGINT) == 1 && sigismember(&mask, SIGTERM) == 1;
}

// Runs float products of 100 x 784 by 784 x 32 (inner dimension 784 > 84) until requested() or
// 20 s; returns whether requested() came.
bool compute_until_requested(const trainer::InterruptWatcher& interrupt) {
  std::vector<float> a(100 * 784, 0.5f), b(784 * 32, 0.25f), c(100 * 32);
  const auto start = std::chrono::steady_clock::now();
  while (!interrupt.requested()) {
    tapegrad::blas::gemm<float>(false, false, 100, 32, 784, a.data(), 784, b.data(), 32, 0.0f, c.data(), 32, 1);
    if (c[0] != 784 * 0.125f) return false;
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(20)) return false;
  }
  return true;
}

}  // namespace

int main() {
  tapegrad::blas::use_float_gemm_library(tapegrad::blas::FloatGemm::onednn);
  {
    const trainer::InterruptWatcher interrupt;
    check(blocks_both(), "the thread that made the watcher blocks SIGINT and SIGTERM");
    tapegrad::set_num_threads(2);
    std::atomic<int> unblocked{0};
    tapegrad::parallel_chunks(
        64,
        [](void* ctx, int64_t, int64_t) {
          if (!blocks_both()) static_cast<std::atomic<int>*>(ctx)->fetch_add(1);
        },
        &unblocked);
    check(unblocked.load() == 0, "the pool's threads block SIGINT and SIGTERM");
    check(!interrupt.requested(), "no request before a signal");
    std::thread sender([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      kill(getpid(), SIGINT);  // to the process, as Ctrl-C is
    });
    check(compute_until_requested(interrupt), "one SIGINT during float products sets requested()");
    sender.join();
  }
  {  // the same Ctrl-C twice (timeout, mpirun): still one request, and the process goes on
    const trainer::InterruptWatcher interrupt;
    kill(getpid(), SIGINT);
    kill(getpid(), SIGTERM);
    const auto start = std::chrono::steady_clock::now();
    while (!interrupt.requested() && std::chrono::steady_clock::now() - start < std::chrono::seconds(20))
      std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // both delivered
    check(interrupt.requested(), "two signals make one request, and the process goes on");
  }
  if (failures == 0) fmt::print("interrupt watcher: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
