// Convolution and LSTM steps, ours and libtorch's in one run (issue 22's targets):
//   BM_Conv/<impl>/batch/in/size/out - conv2d 3x3, padding 1, float32, forward and the gradients of
//                                      sum(y * g) for input, weight and bias, at the CNN's shapes
//   BM_CnnStep/<impl>/batch          - a training step (forward, backward, SGD update) of a CNN
//                                      with the trainer's default convolution blocks (channels
//                                      32,64: per width two 3x3 convolutions with BatchNorm2d and
//                                      ReLU, then 2x2 max pooling) and a smaller dense head
//                                      (Linear(3136, 256), BatchNorm1d, ReLU, Linear(256, 10)) on
//                                      28x28 images, float32: the tape against the hand-derived twin
//                                      (nn/reference/cnn.hpp)
//   BM_Lstm/<impl>                   - LSTM, 2 layers, input 64, hidden 256, sequence 50, batch 32,
//                                      float32: forward and the gradients of sum(output * g)
// Run with --threads=N for both (default 1).
#include <benchmark/benchmark.h>

#include <random>

#include "alloc_stats.hpp"
#include "autodiff/autodiff.hpp"
#include "bench_main.hpp"
#include "nn/nn.hpp"
#include "nn/reference/cnn.hpp"
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

/// The trainer's default convolution blocks and a 256-wide head, as tape layers and as the
/// hand-derived twin with the same parameters.
struct CnnProblem {
  static constexpr int64_t kSide = 28, kClasses = 10, kHidden = 256;
  static constexpr float kLr = 0.01f;
  int64_t batch;
  nn::Sequential model;
  nn::reference::Cnn<float> twin;
  std::vector<float> images;
  std::vector<int64_t> labels;
  explicit CnnProblem(int64_t batch_size) : batch(batch_size), twin(make_twin()) {
    std::mt19937_64 rng(5);
    int64_t channels = 1;
    for (int64_t width : {32, 64}) {
      for (int conv = 0; conv < 2; ++conv) {
        model.push_back(nn::Conv2d(conv == 0 ? channels : width, width, 3, rng, {.padding = 1}));
        model.push_back(nn::BatchNorm2d(width));
        model.push_back(nn::ReLU());
      }
      model.push_back(nn::MaxPool2d(2));
      channels = width;
    }
    model.push_back(nn::Flatten());
    model.push_back(nn::Linear(64 * 7 * 7, kHidden, rng));
    model.push_back(nn::BatchNorm1d(kHidden));
    model.push_back(nn::ReLU());
    model.push_back(nn::Linear(kHidden, kClasses, rng));
    model.to(DType::f32);
    model.train();
    // The twin's parameters in named_parameters()'s order: per block weight, bias, gamma, beta.
    std::vector<std::vector<float>*> parts;
    for (auto& b : twin.blocks()) parts.insert(parts.end(), {&b.weight, &b.bias, &b.gamma, &b.beta});
    for (auto& l : twin.head().layers()) {
      parts.insert(parts.end(), {&l.weight, &l.bias});
      if (l.spec.batch_norm) parts.insert(parts.end(), {&l.gamma, &l.beta});
    }
    const auto params = model.parameters();
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::vector<double> v = params.at(i).value().to_vector();
      parts[i]->assign(v.begin(), v.end());
    }
    std::normal_distribution<float> normal;
    images.resize(size_t(batch * kSide * kSide));
    for (float& v : images) v = normal(rng);
    for (int64_t i = 0; i < batch; ++i) labels.push_back(i % kClasses);
  }
  static nn::reference::Cnn<float> make_twin() {
    std::vector<nn::reference::ConvBlockSpec> blocks;
    int64_t channels = 1;
    for (int64_t width : {32, 64}) {
      for (int conv = 0; conv < 2; ++conv) {
        blocks.push_back({.in_channels = conv == 0 ? channels : width,
                          .out_channels = width,
                          .options = {.padding = 1},
                          .batch_norm = true,
                          .max_pool = conv == 1 ? 2 : 0});
      }
      channels = width;
    }
    return nn::reference::Cnn<float>(
        {1, kSide, kSide}, std::move(blocks),
        {{.in = 64 * 7 * 7, .out = kHidden, .batch_norm = true}, {.in = kHidden, .out = kClasses}},
        {.blas_threads = num_threads()});
  }
};

void BM_CnnStepTape(benchmark::State& state) {
  CnnProblem p(state.range(0));
  nn::optim::SGD opt(p.model.parameters(), {.lr = CnnProblem::kLr});
  const Tensor x(Array(Shape{p.batch, 1, CnnProblem::kSide, CnnProblem::kSide},
                       std::vector<double>(p.images.begin(), p.images.end()), DType::f32));
  Tape tape;
  bench::run_counting_heap(state, [&] {
    tape.clear();
    opt.zero_grad();
    nn::cross_entropy(p.model(x), p.labels).backward();
    opt.step();
  });
}

void BM_CnnStepTwin(benchmark::State& state) {
  CnnProblem p(state.range(0));
  auto sgd = [](std::vector<float>& w, const std::vector<float>& g) {
#pragma omp simd
    for (size_t i = 0; i < w.size(); ++i) w[i] -= CnnProblem::kLr * g[i];
  };
  bench::run_counting_heap(state, [&] {
    p.twin.train_step(p.images, p.labels);
    for (auto& b : p.twin.blocks())
      for (auto [w, g] : {std::pair{&b.weight, &b.grad_weight},
                          {&b.bias, &b.grad_bias},
                          {&b.gamma, &b.grad_gamma},
                          {&b.beta, &b.grad_beta}})
        sgd(*w, *g);
    for (auto& l : p.twin.head().layers()) {
      sgd(l.weight, l.grad_weight);
      sgd(l.bias, l.grad_bias);
      if (l.spec.batch_norm) {
        sgd(l.gamma, l.grad_gamma);
        sgd(l.beta, l.grad_beta);
      }
    }
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
BENCHMARK(BM_CnnStepTape)->Name("BM_CnnStep/tape")->ArgName("batch")->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CnnStepTwin)->Name("BM_CnnStep/twin")->ArgName("batch")->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LstmTape)->Name("BM_Lstm/tape")->Unit(benchmark::kMillisecond);
#ifdef TAPEGRAD_BENCH_TORCH
BENCHMARK(BM_LstmTorch)->Name("BM_Lstm/torch")->Unit(benchmark::kMillisecond);
#endif

int main(int argc, char** argv) { return bench::run_with_torch_peer(argc, argv); }
