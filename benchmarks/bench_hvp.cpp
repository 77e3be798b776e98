// Hessian-vector products of the trainer's MLP (784-512-256-10, ReLU, mean cross-entropy, float64,
// batch 128) next to its gradient, in one run so the ratios mean something on a noisy machine:
//   tape/grad  - the loss's gradient on a warm tape (zero grads, forward, backward)
//   tape/hvp   - H v on a warm tape: the parameters' tangents set to v, the loss recorded with its
//                tangent, one backward from that tangent (reverse over forward)
//   torch/grad, torch/hvp - libtorch (when CMake found Torch): its gradient, and its double-backward
//                HVP (torch::autograd::grad with create_graph, then grad of <g, v>)
// Counters: heap calls per step (allocs_per_step) and peak heap.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "alloc_stats.hpp"
#include "autodiff/autodiff.hpp"
#include "bench_main.hpp"
#include "nn/nn.hpp"
#ifdef TAPEGRAD_BENCH_TORCH
#include "torch_peer.hpp"
#endif

using namespace tapegrad;

namespace {

/// The model, the batch and a direction: what every implementation starts from.
struct Problem {
  nn::Sequential model;
  Tensor x;
  std::vector<int64_t> y;
  std::vector<Tensor> direction;
  explicit Problem(int64_t batch) {
    std::mt19937_64 rng(42);
    model.push_back(nn::Linear(784, 512, rng));
    model.push_back(nn::ReLU());
    model.push_back(nn::Linear(512, 256, rng));
    model.push_back(nn::ReLU());
    model.push_back(nn::Linear(256, 10, rng));
    x = Tensor::randn({batch, 784}, rng);
    for (int64_t i = 0; i < batch; ++i) y.push_back(i % 10);
    for (const Tensor& p : model.parameters()) direction.push_back(Tensor::randn(p.shape(), rng));
  }
};

void BM_TapeGrad(benchmark::State& state) {
  Problem p(state.range(0));
  std::vector<Tensor> params = p.model.parameters();
  Tape tape;
  bench::run_counting_heap(state, [&] {
    tape.clear();
    for (Tensor& t : params) t.zero_grad();
    nn::cross_entropy(p.model(p.x), p.y).backward();
  });
}

void BM_TapeHvp(benchmark::State& state) {
  Problem p(state.range(0));
  std::vector<Tensor> params = p.model.parameters();
  Tape tape;
  bench::run_counting_heap(state, [&] {
    tape.record_tangents(Tape::Tangents::second_order);  // clears, keeps capacity
    for (Tensor& t : params) t.zero_grad();
    for (size_t i = 0; i < params.size(); ++i) tape.set_tangent(params[i], p.direction[i]);
    const Tensor loss = nn::cross_entropy(p.model(p.x), p.y);
    tape.tangent(loss).backward();  // the parameters' gradients are H v
  });
}

#ifdef TAPEGRAD_BENCH_TORCH
void BM_Torch(benchmark::State& state, bool hvp) {
  Problem p(state.range(0));
  std::vector<Array> params, direction;
  for (const Tensor& t : p.model.parameters()) params.push_back(t.value());
  for (const Tensor& t : p.direction) direction.push_back(t.value());
  auto step = bench::make_torch_hvp_step(params, direction, p.x.value(), p.y, hvp);
  bench::run_counting_heap(state, [&] { step->step(); });
}
#endif

}  // namespace

BENCHMARK(BM_TapeGrad)->Name("BM_MlpSecond/tape/grad")->Arg(128)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TapeHvp)->Name("BM_MlpSecond/tape/hvp")->Arg(128)->Unit(benchmark::kMillisecond);
#ifdef TAPEGRAD_BENCH_TORCH
BENCHMARK_CAPTURE(BM_Torch, grad, false)->Name("BM_MlpSecond/torch/grad")->Arg(128)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Torch, hvp, true)->Name("BM_MlpSecond/torch/hvp")->Arg(128)->Unit(benchmark::kMillisecond);
#endif

int main(int argc, char** argv) { return bench::run_with_torch_peer(argc, argv); }
