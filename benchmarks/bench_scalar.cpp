// Scalar tape benchmarks: each kernel in plain double (primal) next to its gradient on the tape
// (set the inputs, record, backward, read a gradient; the tape is cleared and reused), and on
// Adept-2's and CoDiPack's tapes when their sources were given to CMake (peers/).
// Counters: ns_per_op (seconds per op, shown with an SI prefix) and tape_bytes_per_op.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "kernels.hpp"
#include "peers/scalar_peer.hpp"

using tapegrad::Tape;
using tapegrad::Var;

namespace {

using Data = bench::ScalarData;

void set_counters(benchmark::State& state, double ops, double tape_bytes) {
  state.counters["ns_per_op"] =
      benchmark::Counter(ops, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  if (tape_bytes > 0) state.counters["tape_bytes_per_op"] = tape_bytes / ops;
}

/// One gradient per iteration on a reused tape (warm, as the peers' are): record() sets the inputs,
/// records and returns the output and a Var to read; backward; read the gradient.
template <class Record>
void gradient_loop(benchmark::State& state, double ops, Record record) {
  Tape tape;
  bench::run_counting_heap(state, [&] {  // warm: CoDiPack's tape is global and always is
    tape.clear();
    auto [output, input] = record();
    output.backward();
    benchmark::DoNotOptimize(input.grad());
  });
  set_counters(state, ops, double(tape.scalar_bytes()));
}

// ---- log-sum-exp (2 ops per element) ----
template <class T>
void BM_Lse(benchmark::State& state);

template <>
void BM_Lse<double>(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Data d(n);
  for (auto _ : state) benchmark::DoNotOptimize(bench::lse(d.x.data(), n));
  set_counters(state, 2.0 * double(n), 0);
}

template <>
void BM_Lse<Var>(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Data d(n);
  std::vector<Var> x(n);
  gradient_loop(state, 2.0 * double(n), [&] {
    for (size_t i = 0; i < n; ++i) x[i] = d.x[i];
    return std::pair{bench::lse(x.data(), n), x[0]};
  });
}

// ---- stochastic volatility (13 ops per element) ----
template <class T>
void BM_StochVol(benchmark::State& state);

template <>
void BM_StochVol<double>(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Data d(n);
  double mu = -0.5, phi = 0.9, sigma = 0.3;
  for (auto _ : state) {
    // The parameters are inputs, as on the tape: hide their values so log(sigma) is not folded.
    benchmark::DoNotOptimize(mu);
    benchmark::DoNotOptimize(phi);
    benchmark::DoNotOptimize(sigma);
    benchmark::DoNotOptimize(bench::stoch_vol(d.h.data(), mu, phi, sigma, d.y.data(), n));
  }
  set_counters(state, 13.0 * double(n), 0);
}

template <>
void BM_StochVol<Var>(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Data d(n);
  std::vector<Var> h(n);
  gradient_loop(state, 13.0 * double(n), [&] {
    for (size_t i = 0; i < n; ++i) h[i] = d.h[i];
    Var mu = -0.5, phi = 0.9, sigma = 0.3;
    return std::pair{bench::stoch_vol(h.data(), mu, phi, sigma, d.y.data(), n), sigma};
  });
}

// ---- second derivatives and forward mode (issue 21): each on one warm tape, as the gradient ----

/// One Hessian-vector product per iteration: record with tangents (the inputs' tangents set to a
/// direction), one sweep carrying adjoints and their tangents, read an entry of H v.
template <class Record>
void hvp_loop(benchmark::State& state, double ops, Record record) {
  Tape tape;
  bench::run_counting_heap(state, [&] {
    tape.record_tangents(Tape::Tangents::second_order);
    auto [output, input] = record(tape);
    tape.backward_second_order(output);
    benchmark::DoNotOptimize(tape.grad_tangent(input));
  });
  set_counters(state, ops, double(tape.scalar_bytes()));
}

/// One Jacobian-vector product per iteration, forward mode: nothing stored for a sweep.
template <class Record>
void jvp_loop(benchmark::State& state, double ops, Record record) {
  Tape tape;
  bench::run_counting_heap(state, [&] {
    tape.record_tangents(Tape::Tangents::forward);
    auto [output, input] = record(tape);
    benchmark::DoNotOptimize(tape.tangent(output));
  });
  set_counters(state, ops, 0);
}

/// The kernels' inputs as leaves with tangents i mod 7 (not all ones: log-sum-exp is flat along those).
void set_leaves(Tape& tape, std::vector<Var>& x, const std::vector<double>& values) {
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = values[i];
    tape.set_tangent(x[i], double(i % 7));
  }
}

/// hvp_loop or jvp_loop.
template <bool kHvp, class Record>
void second_order_loop(benchmark::State& state, double ops, Record record) {
  if constexpr (kHvp)
    hvp_loop(state, ops, record);
  else
    jvp_loop(state, ops, record);
}

template <bool kHvp>
void BM_LseSecond(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Data d(n);
  std::vector<Var> x(n);
  auto record = [&](Tape& tape) {
    set_leaves(tape, x, d.x);
    return std::pair{bench::lse(x.data(), n), x[0]};
  };
  second_order_loop<kHvp>(state, 2.0 * double(n), record);
}

template <bool kHvp>
void BM_StochVolSecond(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Data d(n);
  std::vector<Var> h(n);
  auto record = [&](Tape& tape) {
    set_leaves(tape, h, d.h);
    Var mu = -0.5, phi = 0.9, sigma = 0.3;
    for (Var* p : {&mu, &phi, &sigma}) tape.set_tangent(*p, 1.0);
    return std::pair{bench::stoch_vol(h.data(), mu, phi, sigma, d.y.data(), n), sigma};
  };
  second_order_loop<kHvp>(state, 13.0 * double(n), record);
}

// ---- sum and product loops (1 op per element) ----
template <class T, bool kProduct>
void BM_Loop(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Data d(n);
  const std::vector<double>& src = kProduct ? d.near_one : d.x;
  auto kernel = [&](const auto* p) { return kProduct ? bench::product_loop(p, n) : bench::sum_loop(p, n); };
  if constexpr (std::is_same_v<T, double>) {
    for (auto _ : state) benchmark::DoNotOptimize(kernel(src.data()));
    set_counters(state, double(n), 0);
  } else {
    std::vector<Var> x(n);
    gradient_loop(state, double(n), [&] {
      for (size_t i = 0; i < n; ++i) x[i] = src[i];
      return std::pair{kernel(x.data()), x[0]};
    });
  }
}

}  // namespace

#define SCALAR_SIZES RangeMultiplier(10)->Range(1000, 1000000)
BENCHMARK_TEMPLATE(BM_Lse, double)->SCALAR_SIZES;
BENCHMARK_TEMPLATE(BM_Lse, Var)->SCALAR_SIZES;
BENCHMARK_TEMPLATE(BM_StochVol, double)->SCALAR_SIZES;
BENCHMARK_TEMPLATE(BM_StochVol, Var)->SCALAR_SIZES;
BENCHMARK_TEMPLATE(BM_LseSecond, false)->Name("BM_Lse<jvp>")->SCALAR_SIZES;
BENCHMARK_TEMPLATE(BM_LseSecond, true)->Name("BM_Lse<hvp>")->SCALAR_SIZES;
BENCHMARK_TEMPLATE(BM_StochVolSecond, false)->Name("BM_StochVol<jvp>")->SCALAR_SIZES;
BENCHMARK_TEMPLATE(BM_StochVolSecond, true)->Name("BM_StochVol<hvp>")->SCALAR_SIZES;
BENCHMARK_TEMPLATE(BM_Loop, double, false)->Name("BM_Sum<double>")->SCALAR_SIZES;
BENCHMARK_TEMPLATE(BM_Loop, Var, false)->Name("BM_Sum<Var>")->SCALAR_SIZES;
BENCHMARK_TEMPLATE(BM_Loop, double, true)->Name("BM_Product<double>")->SCALAR_SIZES;
BENCHMARK_TEMPLATE(BM_Loop, Var, true)->Name("BM_Product<Var>")->SCALAR_SIZES;

int main(int argc, char** argv) {
#ifdef TAPEGRAD_BENCH_ADEPT
  bench::register_adept();
#endif
#ifdef TAPEGRAD_BENCH_CODIPACK
  bench::register_codipack();
#endif
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
