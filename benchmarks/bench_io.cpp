// Reading what users load: a seed network's JSON (linear in its size; issue 20 found it quadratic,
// 160k neurons in 14 s) and its round trip through to_json. Complexity() fits the growth.
#include <benchmark/benchmark.h>

#include <string>

#include "nn/seed/network.hpp"
#include "nn/seed/network_json.hpp"

namespace {

using namespace tapegrad;

/// A chain of n sigmoid neurons fed by one input, each with an arrow from its predecessor.
std::string chain_json(int64_t n) {
  nn::Network net;
  net.add_input(0);
  for (int64_t id = 1; id <= n; ++id) {
    nn::NeuronSpec neuron;
    neuron.id = id;
    neuron.activation = nn::Activation::sigmoid;
    neuron.beta = 0.1;
    net.add_neuron(neuron);
    nn::ArrowSpec arrow;
    arrow.from = id - 1;
    arrow.to = id;
    arrow.w = 0.5;
    net.add_arrow(arrow);
  }
  net.set_outputs({n});
  return nn::to_json(net);
}

void BM_NetworkFromJson(benchmark::State& state) {
  const std::string text = chain_json(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(nn::network_from_json(text));
  state.SetComplexityN(state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
}

}  // namespace

BENCHMARK(BM_NetworkFromJson)->RangeMultiplier(4)->Range(2500, 160000)->Unit(benchmark::kMillisecond)->Complexity();

BENCHMARK_MAIN();
