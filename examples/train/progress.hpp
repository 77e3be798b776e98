#pragma once
// Progress of an epoch: a live bar on a terminal (batches, running loss, examples/s, ETA), nothing
// until the epoch's summary line otherwise (CI logs, pipes).
#include <chrono>
#include <cstdint>

namespace trainer {

class Progress {
 public:
  Progress(int epoch, int epochs, int64_t batches, bool terminal);
  /// After each batch: its size and loss.
  void update(int64_t batch, int64_t examples, double loss);
  /// Clears the bar (terminal) before the epoch's summary line.
  void finish();
  double running_loss() const { return seen_ ? loss_sum_ / double(seen_) : 0.0; }
  /// The sum of the example losses so far, and the examples.
  double loss_sum() const { return loss_sum_; }
  int64_t examples() const { return seen_; }
  double seconds() const;

 private:
  int epoch_, epochs_;
  int64_t batches_;
  bool terminal_;
  double loss_sum_ = 0;
  int64_t seen_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace trainer
