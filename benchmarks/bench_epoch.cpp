// One training epoch of the trainer's default recipe on Fashion-MNIST (60,000 images, batch 128,
// 784-512-256-10 MLP with BatchNorm1d, ReLU and Dropout 0.2, Adam 1e-3, label smoothing 0.1,
// float32), ours on the tape next to libtorch's (when CMake found Torch), on the same minibatches
// (cut once, before timing). One epoch per iteration; --threads=N as in bench_mlp.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <filesystem>
#include <random>

#include "alloc_stats.hpp"
#include "autodiff/autodiff.hpp"
#include "bench_main.hpp"
#include "nn/nn.hpp"
#ifdef TAPEGRAD_BENCH_TORCH
#include "torch_peer.hpp"
#endif

using namespace tapegrad;

namespace {

struct EpochData {
  std::vector<Tensor> x;
  std::vector<std::vector<int64_t>> y;
  int64_t features = 0, classes = 10;
};

EpochData cut_batches() {
  nn::Dataset train = nn::load_mnist(nn::kFashionMnistDir, nn::Split::train);
  nn::normalize(train, 0.2860, 0.3530);  // Fashion-MNIST's pixel mean and deviation
  nn::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .drop_last = false, .seed = 1});
  EpochData d;
  d.features = train.features();
  for (int64_t b = 0; b < loader.num_batches(); ++b) {
    auto [x, y] = loader.batch(b);
    d.x.emplace_back(x.value());  // a copy: the loader reuses its batch buffer
    d.y.push_back(std::vector<int64_t>(y.begin(), y.end()));
  }
  return d;
}

const EpochData& data() {
  static const EpochData d = cut_batches();
  return d;
}

void BM_Epoch_tape(benchmark::State& state) {
  const EpochData& d = data();
  std::mt19937_64 init(42);
  nn::Sequential model{nn::Linear(d.features, 512, init), nn::BatchNorm1d(512), nn::ReLU(), nn::Dropout(0.2, 1),
                       nn::Linear(512, 256, init),        nn::BatchNorm1d(256), nn::ReLU(), nn::Dropout(0.2, 2),
                       nn::Linear(256, d.classes, init)};
  model.to(DType::f32);
  model.train();
  nn::optim::Adam opt(model.parameters(), {.lr = 1e-3});
  Tape tape;
  bench::run_counting_heap(state, [&] {
    for (size_t b = 0; b < d.x.size(); ++b) {
      tape.clear();
      opt.zero_grad();
      Tensor loss = nn::cross_entropy(model(d.x[b]), d.y[b], nn::Reduction::mean, 0.1);
      loss.backward();
      opt.step();
    }
  });
}

#ifdef TAPEGRAD_BENCH_TORCH
void BM_Epoch_torch(benchmark::State& state) {
  static const bench::Batches batches = [] {
    bench::Batches b;
    b.features = data().features;
    b.classes = data().classes;
    for (size_t i = 0; i < data().x.size(); ++i) {
      const auto v = data().x[i].value().to_vector();
      b.x.emplace_back(v.begin(), v.end());
      b.y.push_back(data().y[i]);
    }
    return b;
  }();
  auto peer = bench::make_torch_epoch(batches);
  bench::run_counting_heap(state, [&] { peer->step(); });
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  const int threads = bench::setup_threads(argc, argv, args);
  if (!std::filesystem::exists(nn::kFashionMnistDir)) {
    fmt::print(stderr, "bench_epoch: {} is missing (Debian: dataset-fashion-mnist); nothing to run\n",
               nn::kFashionMnistDir);
    return 0;
  }
#ifdef TAPEGRAD_BENCH_TORCH
  bench::set_torch_threads(threads);
  benchmark::RegisterBenchmark(fmt::format("Epoch/torch/t{}", threads).c_str(), BM_Epoch_torch)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
#endif
  benchmark::RegisterBenchmark(fmt::format("Epoch/tape/t{}", threads).c_str(), BM_Epoch_tape)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  bench::run_benchmarks(args);
}
