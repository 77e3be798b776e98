// Seed networks: one training step (forward + backward + SGD update) on the tape model, recorded
// afresh and replayed, next to the closed-form reference, on random DAG networks of K neurons with fan-in 8, batch m;
// both timed warm (two untimed steps first), with their heap allocations per step.
#include <benchmark/benchmark.h>

#include <random>

#include "alloc_stats.hpp"
#include "autodiff/autodiff.hpp"
#include "nn/optim/sgd.hpp"
#include "nn/reference/backprop.hpp"
#include "nn/seed/seed_model.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;

namespace {

constexpr int kInputs = 16, kOutputs = 4, kFanIn = 8;
constexpr double kLr = 1e-4;

/// K tanh neurons in a random DAG: each reads kFanIn random earlier nodes (inputs or neurons).
Network random_network(int k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> w(0.0, 1.0 / std::sqrt(double(kFanIn)));
  Network net;
  for (int i = 0; i < kInputs; ++i) net.add_input(i);
  for (int n = 0; n < k; ++n) {
    const int id = kInputs + n;
    net.add_neuron({.id = id, .activation = n >= k - kOutputs ? Activation::identity : Activation::tanh});
    std::vector<int> sources;
    std::uniform_int_distribution<int> pick(0, id - 1);
    while (static_cast<int>(sources.size()) < std::min(kFanIn, id)) {
      const int s = pick(rng);
      if (std::find(sources.begin(), sources.end(), s) == sources.end()) sources.push_back(s);
    }
    for (int s : sources) net.add_arrow({s, id, w(rng), {}});
  }
  std::vector<int64_t> outputs;
  for (int n = k - kOutputs; n < k; ++n) outputs.push_back(kInputs + n);
  net.set_outputs(outputs);
  net.finalize();
  return net;
}

struct Batch {
  std::vector<double> x, y;
  Batch(size_t m, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    for (size_t i = 0; i < m * kInputs; ++i) x.push_back(normal(rng));
    for (size_t i = 0; i < m * kOutputs; ++i) y.push_back(normal(rng));
  }
};

/// The tape model of a benchmark's size (K neurons, batch m), its optimizer and its batch.
struct TapeStep {
  SeedModel model;
  optim::SGD opt;
  Batch batch;
  Array x;
  explicit TapeStep(const benchmark::State& state)
      : model(random_network(static_cast<int>(state.range(0)), 1)),
        opt(model.parameters(), {.lr = kLr}),
        batch(static_cast<size_t>(state.range(1)), 2),
        x(Shape{state.range(1), kInputs}, batch.x) {}
};

void BM_SeedStep_Tape(benchmark::State& state) {
  TapeStep s(state);
  Tape tape;
  bench::run_counting_heap(state, [&] {
    tape.clear();
    s.opt.zero_grad();
    Tensor loss = s.model.loss(s.model.forward(s.x).z, s.batch.y, LossKind::sse);
    loss.backward();
    s.opt.step();
    benchmark::DoNotOptimize(loss.item());
  });
  state.SetItemsProcessed(state.iterations() * state.range(1));
}

// The same step recorded once and replayed (Tape::replay): no recording work per step.
void BM_SeedStep_Replay(benchmark::State& state) {
  TapeStep s(state);
  Tape tape;
  const Tensor loss = s.model.loss(s.model.forward(s.x).z, s.batch.y, LossKind::sse);
  bench::run_counting_heap(state, [&] {
    s.opt.zero_grad();
    tape.replay();
    loss.backward();
    s.opt.step();
    benchmark::DoNotOptimize(loss.item());
  });
  state.SetItemsProcessed(state.iterations() * state.range(1));
}

void BM_SeedStep_Reference(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  const size_t m = static_cast<size_t>(state.range(1));
  const Network net = random_network(k, 1);
  Parameters p = net.parameters();
  const Batch batch(m, 2);
  reference::Result r;
  bench::run_counting_heap(state, [&] {
    reference::backprop(net, p, batch.x, batch.y, m, {}, r);
    for (size_t e = 0; e < p.w.size(); ++e) p.w[e] -= kLr * r.grad.w[e];  // eq. 8
    for (size_t u = 0; u < p.beta.size(); ++u) {                          // eq. 9, 24, 25
      p.beta[u] -= kLr * r.grad.beta[u];
      p.gamma[u] -= kLr * r.grad.gamma[u];
      p.theta[u] -= kLr * r.grad.theta[u];
    }
    benchmark::DoNotOptimize(r.loss);
  });
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(m));
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int k : {100, 1000, 10000})
    for (int m : {1, 32, 256}) b->Args({k, m});
  b->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(BM_SeedStep_Tape)->Apply(sizes);
BENCHMARK(BM_SeedStep_Replay)->Apply(sizes);
BENCHMARK(BM_SeedStep_Reference)->Apply(sizes);

BENCHMARK_MAIN();
