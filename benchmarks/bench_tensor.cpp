// Tensor benchmarks: per-op overhead of a chain of 100 elementwise ops (forward + backward) on
// 1-element and 1000-element tensors, and matmul throughput on the tape next to the BLAS called
// directly. Counters: ns_per_op, FLOP/s.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <random>

#include "autodiff/autodiff.hpp"

using namespace tapegrad;

namespace {

constexpr int kChain = 100;

/// y = x, then 100 times y = step(y), then sum and backward; ns per recorded op.
template <class Step>
void chain(benchmark::State& state, double x0, Step step) {
  Tensor x = Tensor::full({state.range(0)}, x0).requires_grad(true);
  Tape tape;
  for (auto _ : state) {
    tape.clear();
    Tensor y = x;
    for (int i = 0; i < kChain; ++i) y = step(y);
    sum(y).backward();
    benchmark::DoNotOptimize(x.grad().data<double>());
  }
  state.counters["ns_per_op"] =
      benchmark::Counter(kChain + 1, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

/// A binary op with a parameter: y = y * w.
void BM_ChainBinary(benchmark::State& state) {
  Tensor w = Tensor::full({state.range(0)}, 0.999).requires_grad(true);
  chain(state, 1.0, [&](const Tensor& y) { return y * w; });
}

/// A unary op (tanh), the cheapest recording path.
void BM_ChainUnary(benchmark::State& state) {
  chain(state, 0.5, [](const Tensor& y) { return tanh(y); });
}

/// The chain's arithmetic in a plain loop (no tape), for scale.
void BM_ChainPlain(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<double> x(static_cast<size_t>(n), 1.0), w(static_cast<size_t>(n), 0.999), y(x);
  for (auto _ : state) {
    y = x;
    for (int i = 0; i < kChain; ++i)
      for (int64_t j = 0; j < n; ++j) y[static_cast<size_t>(j)] *= w[static_cast<size_t>(j)];
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["ns_per_op"] =
      benchmark::Counter(kChain, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void flops(benchmark::State& state, double per_iter) {
  state.counters["FLOPS"] = benchmark::Counter(per_iter, benchmark::Counter::kIsIterationInvariantRate);
}

/// Tape matmul, forward only.
void BM_MatmulTape(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::mt19937_64 rng(1);
  Tensor a = Tensor::randn({n, n}, rng), b = Tensor::randn({n, n}, rng);
  Tape tape;
  for (auto _ : state) {
    tape.clear();
    Tensor c = matmul(a, b);
    benchmark::DoNotOptimize(c.value().data<double>());
  }
  flops(state, 2.0 * double(n * n * n));
}

/// Tape matmul, forward + backward (three products).
void BM_MatmulTapeBackward(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::mt19937_64 rng(1);
  Tensor a = Tensor::randn({n, n}, rng).requires_grad(true), b = Tensor::randn({n, n}, rng).requires_grad(true);
  Array seed = Array::full({n, n}, 1.0);
  Tape tape;
  for (auto _ : state) {
    tape.clear();
    Tensor c = matmul(a, b);
    c.backward(seed);
    benchmark::DoNotOptimize(a.grad().data<double>());
  }
  flops(state, 6.0 * double(n * n * n));
}

/// cblas_dgemm called directly.
void BM_MatmulBlas(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<double> a(static_cast<size_t>(n * n), 0.5), b(a), c(a);
  const int ni = static_cast<int>(n);
  for (auto _ : state) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0, a.data(), ni, b.data(), ni, 0.0, c.data(),
                ni);
    benchmark::DoNotOptimize(c.data());
  }
  flops(state, 2.0 * double(n * n * n));
}

}  // namespace

BENCHMARK(BM_ChainBinary)->Arg(1)->Arg(1000);
BENCHMARK(BM_ChainUnary)->Arg(1)->Arg(1000);
BENCHMARK(BM_ChainPlain)->Arg(1)->Arg(1000);
BENCHMARK(BM_MatmulTape)->Arg(64)->Arg(256)->Arg(512);
BENCHMARK(BM_MatmulBlas)->Arg(64)->Arg(256)->Arg(512);
BENCHMARK(BM_MatmulTapeBackward)->Arg(64)->Arg(256)->Arg(512);

BENCHMARK_MAIN();
