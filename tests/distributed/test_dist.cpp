// Data parallelism on 2 ranks (mpirun -np 2): the ranks end bit-identical, and equal to one process
// training on the whole batches in the same order.
#include <doctest/doctest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "distributed/environment.hpp"
#include "distributed/model_sync.hpp"
#include "distributed/reducer.hpp"
#include "nn/nn.hpp"

using namespace tapegrad;

namespace {

nn::Dataset toy_data(int64_t rows, int64_t features, int64_t classes, DType dtype) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal;
  nn::Dataset d;
  d.images = Array(Shape{rows, features}, dtype);
  for (int64_t i = 0; i < rows * features; ++i) d.images.set(i, normal(rng));
  for (int64_t i = 0; i < rows; ++i) d.labels.push_back(static_cast<int64_t>(rng() % classes));
  return d;
}

std::unique_ptr<nn::Sequential> make_model(uint64_t seed, DType dtype, int64_t hidden = 8) {
  std::mt19937_64 rng(seed);
  auto model = std::make_unique<nn::Sequential>();
  model->push_back(nn::Linear(5, hidden, rng));
  model->push_back(nn::Tanh());
  model->push_back(nn::Linear(hidden, 3, rng));
  model->to(dtype);
  return model;
}

/// Trains `epochs` epochs with Adam; with `shards` > 1 this rank trains its shard and the reducer
/// averages, else it trains on whole batches alone.
std::vector<Tensor> train(const nn::Dataset& data, DType dtype, int64_t batch_size, bool distributed,
                          dist::ReducerOptions reducer_options, uint64_t init_seed) {
  auto model = make_model(init_seed, dtype);
  if (distributed) dist::broadcast_state(*model);
  nn::optim::Adam opt(model->parameters(), {.lr = 0.05});
  nn::DataLoader loader(data, {.batch_size = batch_size,
                               .seed = 7,
                               .shards = distributed ? dist::size() : 1,
                               .shard = distributed ? dist::rank() : 0});
  dist::GradientReducer reducer(model->parameters(), reducer_options);
  Tape tape;
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    loader.set_epoch(epoch);
    for (int64_t b = 0; b < loader.num_batches(); ++b) {
      tape.clear();
      opt.zero_grad();
      auto [x, y] = loader.batch(b);
      if (!distributed) {
        nn::cross_entropy((*model)(x), y).backward();
      } else if (y.empty()) {
        reducer.reduce(0.0);  // nothing of this batch here: join the reduction with zeros
      } else {
        const Tensor loss = nn::cross_entropy((*model)(x), y);
        reducer.backward(loss, dist::share(static_cast<int64_t>(y.size()), loader.batch_rows(b)));
      }
      opt.step();
    }
  }
  return model->parameters();
}

/// Whether every rank holds the same bits: a hash of each rank's parameter bytes, gathered with MPI
/// directly (not with the library's collectives, which are under test here).
bool identical_on_all_ranks(const std::vector<Tensor>& params) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a
  for (const Tensor& p : params) {
    const Array& a = p.value();
    const auto* bytes = a.data<unsigned char>();
    for (size_t k = 0; k < static_cast<size_t>(a.numel()) * (a.dtype() == DType::f32 ? 4 : 8); ++k)
      hash = (hash ^ bytes[k]) * 0x100000001b3ULL;
  }
  std::vector<uint64_t> hashes(static_cast<size_t>(dist::size()));
  MPI_Allgather(&hash, 1, MPI_UINT64_T, hashes.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
  return std::all_of(hashes.begin(), hashes.end(), [&](uint64_t h) { return h == hashes[0]; });
}

}  // namespace

TEST_CASE("data parallel = one process on the whole batches; every rank bit-identical") {
  REQUIRE(dist::size() >= 2);
  for (const DType dtype : {DType::f64, DType::f32}) {
    const double tol = dtype == DType::f64 ? 1e-12 : 1e-6;
    const nn::Dataset data = toy_data(37, 5, 3, dtype);
    for (const int64_t batch_size : {int64_t{8}, int64_t{1}}) {  // 37 rows: a last batch of 5; batch 1: idle ranks
      for (const dist::ReducerOptions options :
           {dist::ReducerOptions{}, dist::ReducerOptions{.bucket_bytes = 64, .overlap = true},
            dist::ReducerOptions{.bucket_bytes = 64, .overlap = false}}) {
        CAPTURE(dtype_name(dtype));
        CAPTURE(batch_size);
        CAPTURE(options.bucket_bytes);
        CAPTURE(options.overlap);
        const auto alone = train(data, dtype, batch_size, false, options, 3);
        // Each rank initialises differently: the broadcast from rank 0 must make them agree.
        const auto together = train(data, dtype, batch_size, true, options, 3 + 1000 * uint64_t(dist::rank()));
        CHECK(identical_on_all_ranks(together));
        double worst = 0;
        for (size_t i = 0; i < alone.size(); ++i)
          for (int64_t k = 0; k < alone[i].numel(); ++k) {
            const double a = alone[i].value().at(k), t = together[i].value().at(k);
            const double difference = std::abs(a - t) / std::max(1.0, std::abs(a));
            if (!(difference <= worst)) worst = difference;  // NaN sticks
          }
        CHECK(worst <= tol);
      }
    }
  }
}

TEST_CASE("buckets: contiguous, from the last parameter, one dtype, bounded in bytes") {
  auto model = make_model(1, DType::f64);  // from the last: 3 + 8x3 | 8 | 5x8 doubles at 216 bytes
  CHECK(dist::GradientReducer(model->parameters()).num_buckets() == 1);
  CHECK(dist::GradientReducer(model->parameters(), {.bucket_bytes = 8 * 27}).num_buckets() == 3);
  CHECK(dist::GradientReducer(model->parameters(), {.bucket_bytes = 1}).num_buckets() == 4);
  CHECK_THROWS_AS(dist::GradientReducer({Tensor::ones({2})}), ValueError);  // not a parameter
  const auto params = model->parameters();
  CHECK_THROWS_WITH_AS(dist::GradientReducer({params[0], params[1], params[0]}),
                       doctest::Contains("parameters 0 and 2 are the same tensor"), ValueError);
  {
    auto converted = make_model(1, DType::f64);
    dist::GradientReducer early(converted->parameters());
    converted->to(DType::f32);  // the buckets were sized for float64
    CHECK_THROWS_WITH_AS(early.reduce(0.5), doctest::Contains("parameter 0 is now float32"), ValueError);
  }
  dist::GradientReducer reducer(model->parameters());
  CHECK_THROWS_AS(reducer.reduce(std::nan("")), ValueError);
  CHECK_THROWS_AS(dist::share(3, 2), ValueError);
}

TEST_CASE("models that differ across ranks are named at start-up, on every rank") {
  auto same = make_model(1, DType::f64);
  CHECK_NOTHROW(dist::check_same_model(*same));
  auto wider = make_model(1, DType::f64, dist::rank() == 1 ? 9 : 8);
  CHECK_THROWS_WITH_AS(
      dist::check_same_model(*wider),
      doctest::Contains("rank 1: entry 0 is '0.weight' float64 [9, 5] there and '0.weight' float64 [8, 5] on rank 0"),
      dist::DistError);
  auto typed = make_model(1, dist::rank() == 1 ? DType::f32 : DType::f64);
  CHECK_THROWS_WITH_AS(dist::check_same_model(*typed),
                       doctest::Contains("rank 1: entry 0 is '0.weight' float32 [8, 5] there"), dist::DistError);
  CHECK_NOTHROW(dist::check_same_lines({"batch 8", "seed 1"}, "settings"));
  CHECK_THROWS_WITH_AS(
      dist::check_same_lines({"batch 8", dist::rank() == 1 ? "seed 2" : "seed 1"}, "settings"),
      doctest::Contains("the ranks' settings differ; rank 1: entry 1 is seed 2 there and seed 1 on rank 0"),
      dist::DistError);
  CHECK_THROWS_AS(dist::check_same_lines({"two\nlines"}, "settings"), ValueError);
  nn::Sequential deeper;
  std::mt19937_64 rng(1);
  deeper.push_back(nn::Linear(2, 2, rng));
  if (dist::rank() == 1) deeper.push_back(nn::Linear(2, 2, rng));
  CHECK_THROWS_WITH_AS(dist::check_same_model(deeper), doctest::Contains("rank 1: 4 entries there, 2 on rank 0"),
                       dist::DistError);
}

TEST_CASE("batch-norm running statistics are averaged over the ranks") {
  nn::BatchNorm1d bn(2);
  Array& mean = bn.running_mean.mutable_value();
  mean.set(0, dist::rank() == 0 ? 1.0 : 3.0);
  mean.set(1, -2.0 * (dist::rank() + 1));
  dist::average_buffers(bn);
  const double ranks = dist::size();
  CHECK(bn.running_mean.value().at(0) == doctest::Approx((1.0 + 3.0 * (ranks - 1)) / ranks));
  double expected = 0;
  for (int r = 0; r < dist::size(); ++r) expected += -2.0 * (r + 1);
  CHECK(bn.running_mean.value().at(1) == doctest::Approx(expected / ranks));
  CHECK_THROWS_AS(dist::broadcast(std::span<Tensor>(), dist::size()), dist::DistError);
}
