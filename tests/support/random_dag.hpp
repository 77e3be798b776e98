#pragma once
// Random seed networks for the oracle tests: random sizes, fan-in and activations, ids and arrows
// in random order, outputs that feed other neurons, dead-end neurons, neurons with no inputs,
// optional batch norm and dropout keep probabilities.
#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "nn/seed/network.hpp"

namespace test {

struct DagOptions {
  bool batch_norm = false;
  bool dropout = false;
};

inline tapegrad::nn::Network random_dag(std::mt19937_64& rng, const DagOptions& opts = {}) {
  using namespace tapegrad::nn;
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 0.7);
  const int n_in = pick(1, 3), n_neurons = pick(2, 9);
  // Distinct, unordered ids.
  std::vector<int64_t> ids(static_cast<size_t>(n_in + n_neurons));
  std::iota(ids.begin(), ids.end(), 0);
  for (auto& id : ids) id = id * 7 + 3;
  std::shuffle(ids.begin(), ids.end(), rng);
  const std::vector<Activation> acts{Activation::identity, Activation::sigmoid,    Activation::tanh,
                                     Activation::relu,     Activation::leaky_relu, Activation::softplus};
  Network net;
  std::vector<NeuronSpec> neurons;
  std::vector<ArrowSpec> arrows;
  for (int i = 0; i < n_neurons; ++i) {
    NeuronSpec n;
    n.id = ids[static_cast<size_t>(n_in + i)];
    n.activation = acts[static_cast<size_t>(pick(0, 5))];
    n.beta = normal(rng);
    if (opts.batch_norm && unit(rng) < 0.4) {
      n.batch_norm = true;
      n.gamma = 1.0 + 0.3 * normal(rng);
      n.theta = 0.3 * normal(rng);
    }
    neurons.push_back(n);
    // Sources: any input or earlier neuron (position order is a topological order).
    const int fan_in = pick(0, 4);
    std::vector<int> candidates(static_cast<size_t>(n_in + i));
    std::iota(candidates.begin(), candidates.end(), 0);
    std::shuffle(candidates.begin(), candidates.end(), rng);
    for (int j = 0; j < std::min<int>(fan_in, static_cast<int>(candidates.size())); ++j) {
      ArrowSpec a{ids[static_cast<size_t>(candidates[static_cast<size_t>(j)])], n.id, normal(rng), {}};
      if (opts.dropout && unit(rng) < 0.7) a.keep = 0.5 + 0.5 * unit(rng);
      arrows.push_back(a);
    }
  }
  std::shuffle(neurons.begin(), neurons.end(), rng);
  std::shuffle(arrows.begin(), arrows.end(), rng);
  for (int i = 0; i < n_in; ++i) net.add_input(ids[static_cast<size_t>(i)]);
  for (const auto& n : neurons) net.add_neuron(n);
  for (const auto& a : arrows) net.add_arrow(a);
  // Outputs: 1-3 neurons anywhere (an output may feed others).
  std::vector<int64_t> outs;
  for (const auto& n : neurons) outs.push_back(n.id);
  std::shuffle(outs.begin(), outs.end(), rng);
  outs.resize(static_cast<size_t>(std::min(pick(1, 3), n_neurons)));
  net.set_outputs(outs);
  if (opts.dropout) net.default_keep = 0.6 + 0.4 * unit(rng);
  net.finalize();
  return net;
}

}  // namespace test
