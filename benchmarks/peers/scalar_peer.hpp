#pragma once
// The scalar kernels on a peer library's tape, registered next to ours in bench_scalar with the
// same names and counters: BM_Lse<Adept>, BM_StochVol<CoDiPack>, ... A peer supplies a Gradient
// policy: `record(inputs)` returns the output after the inputs got their values, `gradient()` runs
// the reverse sweep from it.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "alloc_stats.hpp"
#include "kernels.hpp"

namespace bench {

/// The kernels' inputs, the same for every library.
struct ScalarData {
  std::vector<double> x, h, y, near_one;
  explicit ScalarData(size_t n) : x(n), h(n), y(n), near_one(n) {
    std::mt19937_64 rng(12345);
    std::normal_distribution<double> normal;
    for (size_t i = 0; i < n; ++i) {
      x[i] = 0.3 * normal(rng);
      h[i] = 0.3 * normal(rng);
      y[i] = normal(rng);
      near_one[i] = 1.0 + 1e-3 * normal(rng);
    }
  }
};

inline void set_ns_per_op(benchmark::State& state, double ops) {
  state.counters["ns_per_op"] =
      benchmark::Counter(ops, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

/// Registers BM_Lse<name> and BM_StochVol<name> for sizes 1e3..1e6. Peer provides
/// `using Real`, `void begin(std::vector<Real>& inputs, const std::vector<double>& values)` (set and
/// register the inputs, start recording), and `double gradient(Real& output, Real& input)` (sweep,
/// return d output / d input, reset for the next recording).
template <class Peer>
void register_scalar_peer(const std::string& name) {
  using Real = typename Peer::Real;
  auto lse = [](benchmark::State& state) {
    const size_t n = static_cast<size_t>(state.range(0));
    ScalarData d(n);
    Peer peer;
    std::vector<Real> x(n);
    run_counting_heap(state, [&] {
      peer.begin(x, d.x);
      Real out = bench::lse(x.data(), n);
      benchmark::DoNotOptimize(peer.gradient(out, x[0]));
    });
    set_ns_per_op(state, 2.0 * double(n));
  };
  auto stoch_vol = [](benchmark::State& state) {
    const size_t n = static_cast<size_t>(state.range(0));
    ScalarData d(n);
    Peer peer;
    std::vector<Real> h(n + 3);  // h[0..n), then mu, phi, sigma
    std::vector<double> values = d.h;
    values.insert(values.end(), {-0.5, 0.9, 0.3});
    run_counting_heap(state, [&] {
      peer.begin(h, values);
      Real out = bench::stoch_vol(h.data(), h[n], h[n + 1], h[n + 2], d.y.data(), n);
      benchmark::DoNotOptimize(peer.gradient(out, h[n + 2]));
    });
    set_ns_per_op(state, 13.0 * double(n));
  };
  benchmark::RegisterBenchmark(("BM_Lse<" + name + ">").c_str(), lse)->RangeMultiplier(10)->Range(1000, 1000000);
  benchmark::RegisterBenchmark(("BM_StochVol<" + name + ">").c_str(), stoch_vol)
      ->RangeMultiplier(10)
      ->Range(1000, 1000000);
}

void register_adept();
void register_codipack();

}  // namespace bench
