#pragma once
/// \file
/// Minibatches of a Dataset: a seeded shuffle per epoch (the same order for the same seed and
/// epoch, so a resumed run sees the batches an uninterrupted one would), batch size, drop_last.
/// A batch's x is a leaf whose storage is reused: a warm epoch allocates nothing.
///
/// Data-parallel training (the distributed sampler): with `shards = N`, process `shard` gets its part
/// of every batch (rows [R*shard/N, R*(shard+1)/N) of a batch of R rows). batch_size stays the size of
/// the whole batch and every process draws the same order from the same seed, so the N processes
/// together see exactly the batches one process would, each example once per epoch.
///
///   nn::DataLoader loader(train, {.batch_size = 128, .seed = 1});
///   loader.set_epoch(epoch);
///   for (int64_t b = 0; b < loader.num_batches(); ++b) { auto [x, y] = loader.batch(b); ... }
#include <cstdint>
#include <span>
#include <vector>

#include "autodiff/tensor.hpp"
#include "nn/data/dataset.hpp"

namespace tapegrad::nn {

/// How a DataLoader batches a data set.
struct LoaderOptions {
  int64_t batch_size = 64;  ///< rows per batch (over all shards)
  bool shuffle = true;      ///< a new permutation every epoch
  bool drop_last = false;   ///< leave out a last batch smaller than batch_size
  uint64_t seed = 0;        ///< seed of the permutations
  int64_t shards = 1;       ///< processes sharing each batch
  int64_t shard = 0;        ///< this process's part, 0 <= shard < shards
};

/// The rows part `shard` of `shards` gets when a batch of `rows` rows is split into contiguous parts
/// whose sizes differ by at most one (how DataLoader shards a batch). ValueError for a bad shard.
int64_t shard_rows(int64_t rows, int64_t shard, int64_t shards);

/// Minibatches of a Dataset, shuffled per epoch and split across shards (data-parallel ranks).
class DataLoader {
 public:
  /// Keeps a reference to data: it must outlive the loader.
  DataLoader(const Dataset& data, LoaderOptions options);
  /// The order of this epoch (a permutation drawn from the seed and the epoch when shuffling).
  void set_epoch(int64_t epoch);
  /// Batches per epoch.
  int64_t num_batches() const;
  /// A minibatch: this shard's rows.
  struct Batch {
    Tensor x;                    ///< [rows, features], the data set's dtype
    std::span<const int64_t> y;  ///< rows labels
  };
  /// Batch b of the current epoch, this shard's rows of it (x is overwritten by the next call). A
  /// shard may get no rows (a last batch smaller than the number of shards).
  Batch batch(int64_t b);
  /// Rows of batch b over all shards.
  int64_t batch_rows(int64_t b) const;
  /// Rows of batch b that shard `shard` gets (see nn::shard_rows).
  int64_t shard_rows(int64_t b, int64_t shard) const;

 private:
  const Dataset& data_;
  LoaderOptions options_;
  std::vector<int64_t> order_;
  std::vector<int64_t> labels_;
  Tensor x_;
};

}  // namespace tapegrad::nn
