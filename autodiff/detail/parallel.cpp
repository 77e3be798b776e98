#include "autodiff/detail/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "autodiff/threads.hpp"

namespace tapegrad::detail {

namespace {

thread_local bool in_worker = false;

class Pool {
 public:
  Pool() {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 1; i < cores; ++i) workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  int workers() const { return static_cast<int>(workers_.size()); }

  bool try_run(int64_t n, int64_t parts, void (*body)(void*, int64_t, int64_t), void* ctx) {
    std::unique_lock busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    {
      std::lock_guard lock(mutex_);
      body_ = body;
      ctx_ = ctx;
      n_ = n;
      chunk_ = (n + parts - 1) / parts;
      next_.store(0);
      pending_ = static_cast<int64_t>(workers_.size()) + 1;  // every worker wakes; extra ones find no chunk
      ++job_;
    }
    wake_.notify_all();
    run_chunks();
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    return true;
  }

 private:
  void run_chunks() {
    for (int64_t begin; (begin = next_.fetch_add(chunk_)) < n_;) body_(ctx_, begin, std::min(n_, begin + chunk_));
    std::lock_guard lock(mutex_);
    if (--pending_ == 0) done_.notify_one();
  }

  void work() {
    in_worker = true;
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || job_ != seen; });
        if (stop_) return;
        seen = job_;
      }
      run_chunks();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex busy_;  // one job at a time
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  bool stop_ = false;
  uint64_t job_ = 0;
  int64_t pending_ = 0;
  void (*body_)(void*, int64_t, int64_t) = nullptr;
  void* ctx_ = nullptr;
  int64_t n_ = 0, chunk_ = 1;
  std::atomic<int64_t> next_{0};
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

void parallel_chunks(int64_t n, void (*body)(void*, int64_t, int64_t), void* ctx) {
  if (n <= 0) return;
  const int64_t parts = std::min<int64_t>(num_threads(), pool().workers() + 1);
  if (in_worker || parts <= 1 || !pool().try_run(n, parts, body, ctx)) body(ctx, 0, n);
}

}  // namespace tapegrad::detail
