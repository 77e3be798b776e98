#include "progress.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <string>

namespace trainer {

Progress::Progress(int epoch, int epochs, int64_t batches, bool terminal)
    : epoch_(epoch),
      epochs_(epochs),
      batches_(batches),
      terminal_(terminal),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t batch, int64_t examples, double loss) {
  loss_sum_ += loss * double(examples);
  seen_ += examples;
  if (!terminal_) return;
  const auto now = std::chrono::steady_clock::now();
  if (batch + 1 < batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double t = seconds();
  const double done = double(batch + 1) / double(batches_);
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(done * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  fmt::print("\r\033[Kepoch {}/{} [{}] {}/{} loss {:.4f} {:.0f} ex/s ETA {:.1f}s", epoch_, epochs_, bar, batch + 1,
             batches_, running_loss(), t > 0 ? double(seen_) / t : 0.0, t * (1 - done) / std::max(done, 1e-9));
  std::fflush(stdout);
}

void Progress::finish() {
  if (terminal_) fmt::print("\r\033[K");
}

}  // namespace trainer
