// Convolution and LSTM steps, ours and libtorch's in one run (issue 22's targets):
//   BM_Conv/<impl>/batch/in/size/out - conv2d 3x3, padding 1, float32, forward and the gradients of
//                                      sum(y * g) for input, weight and bias, at the CNN's shapes
//   BM_Lstm/<impl>                   - LSTM, 2 layers, input 64, hidden 256, sequence 50, batch 32,
//                                      float32: forward and the gradients of sum(output * g)
// Run with --threads=N for both (default 1).
#include <benchmark/benchmark.h>

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

/// A conv problem: x [batch, in, size, size], w [out, in, 3, 3], b [out], g like y.
struct ConvProblem {
  Tensor x, w, b, g;
  explicit ConvProblem(const benchmark::State& state) {
    std::mt19937_64 rng(3);
    const int64_t batch = state.range(0), in = state.range(1), size = state.range(2), out = state.range(3);
    x = Tensor(Tensor::randn({batch, in, size, size}, rng, DType::f32).value(), true);
    w = Tensor(Tensor::randn({out, in, 3, 3}, rng, DType::f32).value(), true);
    b = Tensor(Tensor::randn({out}, rng, DType::f32).value(), true);
    g = Tensor::randn({batch, out, size, size}, rng, DType::f32);
  }
};

void BM_ConvTape(benchmark::State& state) {
  ConvProblem p(state);
  Tape tape;
  bench::run_counting_heap(state, [&] {
    tape.clear();
    for (Tensor* t : {&p.x, &p.w, &p.b}) t->zero_grad();
    sum(nn::conv2d(p.x, p.w, p.b, {.padding = 1}) * p.g).backward();
  });
}

struct LstmProblem {
  static constexpr int64_t kInput = 64, kHidden = 256, kLayers = 2, kSeq = 50, kBatch = 32;
  std::mt19937_64 rng{4};
  nn::LSTM lstm{kInput, kHidden, rng, {.num_layers = kLayers}};
  Tensor x = Tensor::randn({kSeq, kBatch, kInput}, rng, DType::f32);
  Tensor g = Tensor::randn({kSeq, kBatch, kHidden}, rng, DType::f32);
  LstmProblem() { lstm.to(DType::f32); }
};

void BM_LstmTape(benchmark::State& state) {
  LstmProblem p;
  Tape tape;
  bench::run_counting_heap(state, [&] {
    tape.clear();
    p.lstm.zero_grad();
    sum(p.lstm(p.x).output * p.g).backward();
  });
}

#ifdef TAPEGRAD_BENCH_TORCH
void BM_ConvTorch(benchmark::State& state) {
  ConvProblem p(state);
  auto step = bench::make_torch_conv_step(p.x.value(), p.w.value(), p.b.value(), p.g.value(), 1, 1);
  bench::run_counting_heap(state, [&] { step->step(); });
}

void BM_LstmTorch(benchmark::State& state) {
  LstmProblem p;
  auto step = bench::make_torch_lstm_step(LstmProblem::kInput, LstmProblem::kHidden, LstmProblem::kLayers, p.x.value(),
                                          p.g.value());
  bench::run_counting_heap(state, [&] { step->step(); });
}
#endif

void conv_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "in", "size", "out"});
  for (const auto& s :
       std::vector<std::vector<int64_t>>{{128, 1, 28, 32}, {128, 32, 28, 32}, {128, 32, 14, 64}, {128, 64, 14, 64}})
    b->Args(s);
  b->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(BM_ConvTape)->Name("BM_Conv/tape")->Apply(conv_shapes);
#ifdef TAPEGRAD_BENCH_TORCH
BENCHMARK(BM_ConvTorch)->Name("BM_Conv/torch")->Apply(conv_shapes);
#endif
BENCHMARK(BM_LstmTape)->Name("BM_Lstm/tape")->Unit(benchmark::kMillisecond);
#ifdef TAPEGRAD_BENCH_TORCH
BENCHMARK(BM_LstmTorch)->Name("BM_Lstm/torch")->Unit(benchmark::kMillisecond);
#endif

int main(int argc, char** argv) { return bench::run_with_torch_peer(argc, argv); }
