// The layers' cost: one warm training step (forward, backward, Adam) of the README's model,
// 784-256 BatchNorm ReLU Dropout(0.2) 256-10 in float32, written with nn layers, next to the same
// model written with raw tensor ops (matmul, broadcasting adds, batch norm and dropout composed of
// elementwise ops). Ratio layers / raw <= 1.02 is the target (issue 6).
#include <benchmark/benchmark.h>

#include <random>

#include "autodiff/autodiff.hpp"
#include "nn/nn.hpp"

using namespace tapegrad;

namespace {

struct Batch {
  Tensor x;
  std::vector<int64_t> y;
  explicit Batch(int64_t m) {
    std::mt19937_64 rng(1);
    x = Tensor::randn({m, 784}, rng, DType::f32);
    for (int64_t i = 0; i < m; ++i) y.push_back(i % 10);
  }
};

void BM_StepLayers(benchmark::State& state) {
  const Batch b(state.range(0));
  std::mt19937_64 rng(42);
  nn::Sequential model{nn::Linear(784, 256, rng), nn::BatchNorm1d(256), nn::ReLU(), nn::Dropout(0.2),
                       nn::Linear(256, 10, rng)};
  model.to(DType::f32);
  nn::optim::Adam opt(model.parameters(), {.lr = 1e-3});
  Tape tape;
  for (auto _ : state) {
    tape.clear();
    opt.zero_grad();
    Tensor loss = nn::cross_entropy(model(b.x), b.y);
    loss.backward();
    opt.step();
  }
}

void BM_StepRawOps(benchmark::State& state) {
  const Batch b(state.range(0));
  const int64_t m = state.range(0);
  std::mt19937_64 rng(42);
  const double k1 = 1 / std::sqrt(784.0), k2 = 1 / std::sqrt(256.0);
  Tensor w1 = Tensor::uniform({784, 256}, rng, -k1, k1, DType::f32).requires_grad(true);
  Tensor b1 = Tensor::uniform({256}, rng, -k1, k1, DType::f32).requires_grad(true);
  Tensor gamma = Tensor::ones({256}, DType::f32).requires_grad(true);
  Tensor beta = Tensor::zeros({256}, DType::f32).requires_grad(true);
  Tensor w2 = Tensor::uniform({256, 10}, rng, -k2, k2, DType::f32).requires_grad(true);
  Tensor b2 = Tensor::uniform({10}, rng, -k2, k2, DType::f32).requires_grad(true);
  Tensor mask = Tensor::zeros({m, 256}, DType::f32);
  nn::optim::Adam opt({w1, b1, gamma, beta, w2, b2}, {.lr = 1e-3});
  Tape tape;
  for (auto _ : state) {
    tape.clear();
    opt.zero_grad();
    Array& r = mask.mutable_value();
    nn::draw_mask(r.data<float>(), r.numel(), 0.2, 1.25f, rng);
    const Tensor h = matmul(b.x, w1) + b1;
    const Tensor mu = mean(h, {0}, true);
    const Tensor centered = h - mu;
    const Tensor var = mean(square(centered), {0}, true);
    const Tensor bn = centered / sqrt(var + 1e-5) * gamma + beta;
    const Tensor logits = matmul(relu(bn) * mask, w2) + b2;
    Tensor loss = nn::cross_entropy(logits, b.y);
    loss.backward();
    opt.step();
  }
}

}  // namespace

BENCHMARK(BM_StepLayers)->Arg(32)->Arg(128)->Arg(1024)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StepRawOps)->Arg(32)->Arg(128)->Arg(1024)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
