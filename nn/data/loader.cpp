#include "nn/data/loader.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>

#include "autodiff/error.hpp"
#include "nn/functional/random.hpp"

namespace tapegrad::nn {

DataLoader::DataLoader(const Dataset& data, LoaderOptions options) : data_(data), options_(options) {
  if (options.batch_size < 1) raise<ValueError>("DataLoader: batch_size must be positive, got {}", options.batch_size);
  if (data.images.rank() != 2 || data.images.shape()[0] != data.size())
    raise<ValueError>("DataLoader: the data set must hold [n, features] images for its {} labels, got {}", data.size(),
                      data.images.shape());
  if (options.shards < 1 || options.shard < 0 || options.shard >= options.shards)
    raise<ValueError>("DataLoader: shard {} of {} does not exist (need shards >= 1 and 0 <= shard < shards)",
                      options.shard, options.shards);
  order_.resize(static_cast<size_t>(data.size()));
  labels_.resize(static_cast<size_t>(std::min(options.batch_size, data.size())));
  x_ = Tensor(Array(Shape{static_cast<int64_t>(labels_.size()), data.features()}, data.images.dtype()));
  set_epoch(0);
}

void DataLoader::set_epoch(int64_t epoch) {
  std::iota(order_.begin(), order_.end(), int64_t{0});
  if (!options_.shuffle) return;
  std::mt19937_64 rng(mix_seed(options_.seed, static_cast<uint64_t>(epoch)));
  for (size_t i = order_.size(); i > 1; --i) {  // Fisher-Yates with our own draws (std::shuffle varies by library)
    const size_t j = static_cast<size_t>(rng() % i);
    std::swap(order_[i - 1], order_[j]);
  }
}

namespace {
/// The first row of part k of `rows` split into `parts`: rows * k / parts without overflow.
int64_t part_begin(int64_t rows, int64_t k, int64_t parts) {
  __extension__ typedef __int128 Wide;  // rows * k needs up to 126 bits
  return static_cast<int64_t>(static_cast<Wide>(rows) * k / parts);
}
}  // namespace

int64_t DataLoader::num_batches() const {
  const int64_t n = data_.size(), b = options_.batch_size;
  return n / b + (!options_.drop_last && n % b != 0);  // (n + b - 1) / b overflows for b near 2^63
}

int64_t DataLoader::batch_rows(int64_t b) const {
  if (b < 0 || b >= num_batches())
    raise<ValueError>("DataLoader: batch {} out of range (this epoch has {})", b, num_batches());
  return std::min(options_.batch_size, data_.size() - b * options_.batch_size);
}

int64_t shard_rows(int64_t rows, int64_t shard, int64_t shards) {
  if (shards < 1 || shard < 0 || shard >= shards)
    raise<ValueError>("shard_rows: shard {} of {} does not exist", shard, shards);
  return part_begin(rows, shard + 1, shards) - part_begin(rows, shard, shards);
}

int64_t DataLoader::shard_rows(int64_t b, int64_t shard) const {
  return nn::shard_rows(batch_rows(b), shard, options_.shards);
}

DataLoader::Batch DataLoader::batch(int64_t b) {
  const int64_t begin = b * options_.batch_size + part_begin(batch_rows(b), options_.shard, options_.shards);
  const int64_t rows = shard_rows(b, options_.shard);
  const int64_t f = data_.features();
  Array& x = x_.mutable_value();
  x.resize(Shape{rows, f}, data_.images.dtype());
  const size_t row_bytes = static_cast<size_t>(f) * (x.dtype() == DType::f32 ? 4 : 8);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t src = order_[static_cast<size_t>(begin + r)];
    std::memcpy(x.data<char>() + static_cast<size_t>(r) * row_bytes,
                data_.images.data<char>() + static_cast<size_t>(src) * row_bytes, row_bytes);
    labels_[static_cast<size_t>(r)] = data_.labels[static_cast<size_t>(src)];
  }
  return {x_, std::span<const int64_t>(labels_.data(), static_cast<size_t>(rows))};
}

}  // namespace tapegrad::nn
