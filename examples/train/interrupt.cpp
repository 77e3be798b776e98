#include "interrupt.hpp"

#include <pthread.h>

#include <atomic>
#include <csignal>
#include <stdexcept>

namespace trainer {

namespace {

std::atomic<int> signals_seen{0};  // lock-free, so the handler may touch it
std::atomic<bool> watching{false};
struct sigaction former_int, former_term;

extern "C" void on_interrupt(int) { signals_seen.fetch_add(1); }

sigset_t interrupt_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

InterruptWatcher::InterruptWatcher() {
  static_assert(std::atomic<int>::is_always_lock_free);
  if (watching.exchange(true)) throw std::logic_error("InterruptWatcher: one watcher at a time");
  signals_seen = 0;
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &former_int);
  sigaction(SIGTERM, &action, &former_term);
  taker_ = std::thread([this] {  // started before the block, so its mask leaves the signals open
    std::unique_lock lock(mutex_);
    stop_.wait(lock, [this] { return stopping_; });
  });
  const sigset_t set = interrupt_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // fails only for an invalid first argument
}

InterruptWatcher::~InterruptWatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_one();
  taker_.join();
  sigaction(SIGINT, &former_int, nullptr);
  sigaction(SIGTERM, &former_term, nullptr);
  const sigset_t set = interrupt_signals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  watching = false;
}

bool InterruptWatcher::requested() const { return signals_seen.load(std::memory_order_relaxed) > 0; }

}  // namespace trainer
