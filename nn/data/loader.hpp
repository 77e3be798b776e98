#pragma once
// Minibatches of a Dataset: a seeded shuffle per epoch (the same order for the same seed and
// epoch, so a resumed run sees the batches an uninterrupted one would), batch size, drop_last.
// A batch's x is a leaf whose storage is reused: a warm epoch allocates nothing.
//
//   nn::DataLoader loader(train, {.batch_size = 128, .seed = 1});
//   loader.set_epoch(epoch);
//   for (int64_t b = 0; b < loader.num_batches(); ++b) { auto [x, y] = loader.batch(b); ... }
#include <cstdint>
#include <span>
#include <vector>

#include "autodiff/tensor.hpp"
#include "nn/data/dataset.hpp"

namespace tapegrad::nn {

struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 0;
};

class DataLoader {
 public:
  /// Keeps a reference to data: it must outlive the loader.
  DataLoader(const Dataset& data, LoaderOptions options);
  /// The order of this epoch (a permutation drawn from the seed and the epoch when shuffling).
  void set_epoch(int64_t epoch);
  int64_t num_batches() const;
  struct Batch {
    Tensor x;                    // [rows, features], the data set's dtype
    std::span<const int64_t> y;  // rows labels
  };
  /// Batch b of the current epoch (its x is overwritten by the next call).
  Batch batch(int64_t b);

 private:
  const Dataset& data_;
  LoaderOptions options_;
  std::vector<int64_t> order_;
  std::vector<int64_t> labels_;
  Tensor x_;
};

}  // namespace tapegrad::nn
