// One training epoch of the trainer's default recipes on Fashion-MNIST (60,000 images, batch 128,
// Adam 1e-3, label smoothing 0.1, float32), ours on the tape next to libtorch's (when CMake found
// Torch), on the same minibatches (cut once, before timing):
//   Epoch/mlp - 784-512-256-10 MLP with BatchNorm1d, ReLU and Dropout 0.2 (--model mlp)
//   Epoch/cnn - per width of 32, 64 two 3x3 convolutions (padding 1, no bias) with BatchNorm2d and
//               ReLU, then 2x2 max pooling; then that MLP's dense layers on 3136 inputs (--model cnn)
// One epoch per iteration; --threads=N as in bench_mlp; --benchmark_filter=mlp for the MLP alone.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cmath>
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

/// The trainer's default MLP, or its default CNN.
nn::Sequential make_model(bool cnn, int64_t features, int64_t classes) {
  std::mt19937_64 init(42);
  nn::Sequential model;
  int64_t width = features;
  if (cnn) {
    auto side = static_cast<int64_t>(std::lround(std::sqrt(double(features))));
    model.push_back(nn::Unflatten({1, side, side}));
    int64_t channels = 1;
    for (int64_t w : {32, 64}) {
      for (int conv = 0; conv < 2; ++conv) {
        model.push_back(nn::Conv2d(conv == 0 ? channels : w, w, 3, init, {.padding = 1}, /*bias=*/false));
        model.push_back(nn::BatchNorm2d(w));
        model.push_back(nn::ReLU());
      }
      model.push_back(nn::MaxPool2d(2));
      channels = w;
      side /= 2;
    }
    model.push_back(nn::Flatten());
    width = channels * side * side;
  }
  uint64_t dropout_seed = 1;
  for (int64_t h : {512, 256}) {
    model.push_back(nn::Linear(width, h, init));
    model.push_back(nn::BatchNorm1d(h));
    model.push_back(nn::ReLU());
    model.push_back(nn::Dropout(0.2, dropout_seed++));
    width = h;
  }
  model.push_back(nn::Linear(width, classes, init));
  return model;
}

void BM_Epoch_tape(benchmark::State& state, bool cnn) {
  const EpochData& d = data();
  nn::Sequential model = make_model(cnn, d.features, d.classes);
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
void BM_Epoch_torch(benchmark::State& state, bool cnn) {
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
  auto peer = bench::make_torch_epoch(batches, cnn);
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
#endif
  for (const bool cnn : {false, true}) {
    const char* model = cnn ? "cnn" : "mlp";
#ifdef TAPEGRAD_BENCH_TORCH
    benchmark::RegisterBenchmark(fmt::format("Epoch/{}/torch/t{}", model, threads).c_str(), BM_Epoch_torch, cnn)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
#endif
    benchmark::RegisterBenchmark(fmt::format("Epoch/{}/tape/t{}", model, threads).c_str(), BM_Epoch_tape, cnn)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
  }
  bench::run_benchmarks(args);
}
