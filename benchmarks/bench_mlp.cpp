// The MLP training step three ways, in one run so their ratios mean something on a noisy machine:
//   tape   - nn layers on the tape (nn::Sequential, nn::optim::SGD), recorded every step
//   replay - the same, recorded once and replayed (Tape::replay)
//   twin   - the hand-derived matrix backprop (nn/reference/mlp.hpp), plain SGD loops
//   torch  - libtorch's C++ API (when CMake found Torch)
//   blas   - the step's matrix products alone, straight to OpenBLAS through blas::gemm (gemm, or
//            gemv / ger at batch 1, as the tape and the twin call it): the floor; plain models only
// Widths 64/256/1024, depth 2-4, batch 1/32/128/1024, float32, plain or with batch norm and
// dropout 0.2, on 1 thread (--threads=2 for two: ours and libtorch's pools both, OpenMP's wait
// policy passive). Counters: GFLOP/s of the step's products, heap calls per step and peak heap.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "alloc_stats.hpp"
#include "autodiff/autodiff.hpp"
#include "autodiff/blas.hpp"
#include "bench_main.hpp"
#include "mlp_models.hpp"
#include "nn/nn.hpp"
#include "nn/reference/mlp.hpp"
#ifdef TAPEGRAD_BENCH_TORCH
#include "torch_peer.hpp"
#endif

using namespace tapegrad;

namespace {

void report_flops(benchmark::State& state, const bench::MlpSpec& spec) {
  state.counters["FLOPS"] =
      benchmark::Counter(spec.flops() * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void tape_step(benchmark::State& state, bench::MlpSpec spec, bool replay) {
  const bench::MlpBatch data(spec.batch);
  const Tensor x(
      Array(Shape{spec.batch, bench::MlpSpec::kInputs}, std::vector<double>(data.x.begin(), data.x.end()), DType::f32));
  std::mt19937_64 init(42);
  nn::Sequential model;
  int64_t in = bench::MlpSpec::kInputs;
  for (int64_t l = 0; l + 1 < spec.depth; ++l) {
    model.push_back(nn::Linear(in, spec.width, init));
    if (spec.bn_dropout) model.push_back(nn::BatchNorm1d(spec.width));
    model.push_back(nn::ReLU());
    if (spec.bn_dropout) model.push_back(nn::Dropout(bench::MlpSpec::kDropout, static_cast<uint64_t>(l)));
    in = spec.width;
  }
  model.push_back(nn::Linear(in, bench::MlpSpec::kClasses, init));
  model.to(DType::f32);
  model.train();
  nn::optim::SGD opt(model.parameters(), {.lr = bench::MlpSpec::kLr});
  Tape tape;
  Tensor loss;
  if (replay) loss = nn::cross_entropy(model(x), data.y);  // recorded once
  bench::run_counting_heap(state, [&] {
    opt.zero_grad();
    if (replay) {
      tape.replay();
    } else {
      tape.clear();
      loss = nn::cross_entropy(model(x), data.y);
    }
    loss.backward();
    opt.step();
  });
  report_flops(state, spec);
}

void twin_step(benchmark::State& state, bench::MlpSpec spec) {
  const bench::MlpBatch data(spec.batch);
  std::vector<nn::reference::MlpLayerSpec> layers;
  int64_t in = bench::MlpSpec::kInputs;
  for (int64_t l = 0; l + 1 < spec.depth; ++l) {
    layers.push_back({.in = in,
                      .out = spec.width,
                      .activation = nn::Activation::relu,
                      .batch_norm = spec.bn_dropout,
                      .dropout = spec.bn_dropout ? bench::MlpSpec::kDropout : 0.0});
    in = spec.width;
  }
  layers.push_back({.in = in, .out = bench::MlpSpec::kClasses});
  nn::reference::Mlp<float> mlp(layers, {.blas_threads = num_threads()});  // the tape's thread rule
  std::mt19937_64 init(42);
  for (auto& layer : mlp.layers()) {  // PyTorch's default init, as nn::Linear
    const float bound = 1.0f / std::sqrt(static_cast<float>(layer.spec.in));
    std::uniform_real_distribution<float> u(-bound, bound);
    for (float& w : layer.weight) w = u(init);
    for (float& b : layer.bias) b = u(init);
  }
  std::vector<std::mt19937_64> generators(static_cast<size_t>(spec.depth));
  const auto lr = static_cast<float>(bench::MlpSpec::kLr);
  bench::run_counting_heap(state, [&] {
    if (spec.bn_dropout) mlp.draw_masks(spec.batch, generators);
    benchmark::DoNotOptimize(mlp.train_step(data.x, data.y));
    for (auto& layer : mlp.layers())
      for (auto [values, grads] : {std::pair{&layer.weight, &layer.grad_weight},
                                   {&layer.bias, &layer.grad_bias},
                                   {&layer.gamma, &layer.grad_gamma},
                                   {&layer.beta, &layer.grad_beta}}) {
        float* v = values->data();
        const float* g = grads->data();
#pragma omp simd
        for (size_t i = 0; i < values->size(); ++i) v[i] -= lr * g[i];
      }
  });
  report_flops(state, spec);
}

/// The step's matrix products alone, straight to the BLAS: the floor of any implementation.
void blas_step(benchmark::State& state, bench::MlpSpec spec) {
  const bench::MlpBatch data(spec.batch);
  struct Shapes {
    int64_t in, out;
    std::vector<float> w, gw, z, dz, dx;
  };
  std::vector<Shapes> layers;
  int64_t in = bench::MlpSpec::kInputs;
  for (int64_t l = 0; l < spec.depth; ++l) {
    const int64_t out = l + 1 == spec.depth ? bench::MlpSpec::kClasses : spec.width;
    const auto m = static_cast<size_t>(spec.batch);
    layers.push_back({in, out, std::vector<float>(static_cast<size_t>(in * out), 0.01f),
                      std::vector<float>(static_cast<size_t>(in * out)), std::vector<float>(m * out),
                      std::vector<float>(m * out, 0.01f), std::vector<float>(m * in)});
    in = out;
  }
  const int64_t m = spec.batch;
  bench::run_counting_heap(state, [&] {
    const float* h = data.x.data();
    const int threads = num_threads();  // the tape's thread rule
    for (auto& l : layers) {            // z = h W^T
      blas::gemm(false, true, m, l.out, l.in, h, l.in, l.w.data(), l.in, 0.0f, l.z.data(), l.out, threads);
      h = l.z.data();
    }
    for (size_t i = layers.size(); i-- > 0;) {  // dW = dz^T h, dh = dz W
      auto& l = layers[i];
      const float* below = i == 0 ? data.x.data() : layers[i - 1].z.data();
      blas::gemm(true, false, l.out, l.in, m, l.dz.data(), l.out, below, l.in, 0.0f, l.gw.data(), l.in, threads);
      if (i > 0)
        blas::gemm(false, false, m, l.in, l.out, l.dz.data(), l.out, l.w.data(), l.in, 0.0f, l.dx.data(), l.in,
                   threads);
    }
  });
  report_flops(state, spec);
}

#ifdef TAPEGRAD_BENCH_TORCH
void torch_step(benchmark::State& state, bench::MlpSpec spec) {
  const bench::MlpBatch data(spec.batch);
  auto peer = bench::make_torch_mlp_step(spec, data);
  bench::run_counting_heap(state, [&] { peer->step(); });
  report_flops(state, spec);
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  const int threads = bench::setup_threads(argc, argv, args);
  fmt::print(stderr, "threads {}; OpenBLAS: {}\n", threads, openblas_get_config());
#ifdef TAPEGRAD_BENCH_TORCH
  bench::set_torch_threads(threads);
  fmt::print(stderr, "{}\n", bench::torch_description());
#endif
  for (int64_t width : {64, 256, 1024})
    for (int64_t depth : {2, 3, 4})
      for (int64_t batch : {1, 32, 128, 1024})
        for (bool bn_dropout : {false, true}) {
          if (bn_dropout && batch < 2) continue;  // batch norm needs two examples in training
          const bench::MlpSpec spec{.width = width, .depth = depth, .bn_dropout = bn_dropout, .batch = batch};
          auto name = [&](const char* impl) { return fmt::format("MLP/{}/{}/t{}", impl, spec.name(), threads); };
          benchmark::RegisterBenchmark(name("tape").c_str(), tape_step, spec, false)->Unit(benchmark::kMicrosecond);
          benchmark::RegisterBenchmark(name("replay").c_str(), tape_step, spec, true)->Unit(benchmark::kMicrosecond);
          benchmark::RegisterBenchmark(name("twin").c_str(), twin_step, spec)->Unit(benchmark::kMicrosecond);
          if (!bn_dropout)
            benchmark::RegisterBenchmark(name("blas").c_str(), blas_step, spec)->Unit(benchmark::kMicrosecond);
#ifdef TAPEGRAD_BENCH_TORCH
          benchmark::RegisterBenchmark(name("torch").c_str(), torch_step, spec)->Unit(benchmark::kMicrosecond);
#endif
        }
  bench::run_benchmarks(args);
}
