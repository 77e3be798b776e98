// Data-parallel training step of the trainer's default model (784-512-256-10, BatchNorm1d, ReLU,
// dropout 0.2, Adam, float32, a batch of 128 over all ranks), run as
//   mpirun -np 2 bench_dist            (each rank takes 64 rows; rank 0 reports)
//   bench_dist --threads=2             (one process, for comparison)
// Benchmarks: the whole step with the reduction overlapped with backward, the same with the
// reduction after backward, the step without any reduction (the compute alone: the difference is
// the allreduce's share), and the reduction alone. Every benchmark has a fixed iteration count, so
// the ranks' collectives match.
#include <benchmark/benchmark.h>

#include <random>

#include "bench_main.hpp"
#include "distributed/dist.hpp"
#include "nn/nn.hpp"

using namespace tapegrad;

namespace {

constexpr int64_t kBatch = 128, kIterations = 60;

struct Step {
  std::unique_ptr<nn::Sequential> model = std::make_unique<nn::Sequential>();
  std::unique_ptr<nn::optim::Adam> opt;
  std::unique_ptr<dist::GradientReducer> reducer;
  Tensor x;
  std::vector<int64_t> y;
  int64_t rows;

  explicit Step(bool overlap) {
    std::mt19937_64 rng(1);
    int64_t in = 784;
    for (int64_t width : {512, 256}) {
      model->push_back(nn::Linear(in, width, rng));
      model->push_back(nn::BatchNorm1d(width));
      model->push_back(nn::ReLU());
      model->push_back(nn::Dropout(0.2));
      in = width;
    }
    model->push_back(nn::Linear(in, 10, rng));
    model->to(DType::f32);
    opt = std::make_unique<nn::optim::Adam>(model->parameters(), nn::optim::AdamOptions{.lr = 1e-3});
    reducer = std::make_unique<dist::GradientReducer>(model->parameters(), dist::ReducerOptions{.overlap = overlap});
    rows = kBatch * (dist::rank() + 1) / dist::size() - kBatch * dist::rank() / dist::size();
    x = Tensor::randn({rows, 784}, rng, DType::f32);
    for (int64_t i = 0; i < rows; ++i) y.push_back(i % 10);
  }
};

enum class Mode { overlap, after_backward, no_reduce, reduce_only };

void BM_DistStep(benchmark::State& state, Mode mode) {
  Step step(mode == Mode::overlap);
  Tape tape;
  for (auto _ : state) {
    tape.clear();
    step.opt->zero_grad();
    if (mode == Mode::reduce_only) {
      step.reducer->reduce(1.0 / dist::size());
      continue;
    }
    const Tensor loss = nn::cross_entropy((*step.model)(step.x), step.y);
    if (mode == Mode::no_reduce)
      loss.backward();
    else
      step.reducer->backward(loss, dist::share(step.rows, kBatch));
    step.opt->step();
  }
  state.counters["ranks"] = dist::size();
  state.counters["examples/s"] = benchmark::Counter(double(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_CAPTURE(BM_DistStep, overlap, Mode::overlap)->Iterations(kIterations)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DistStep, after_backward, Mode::after_backward)
    ->Iterations(kIterations)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DistStep, no_reduce, Mode::no_reduce)->Iterations(kIterations)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DistStep, reduce_only, Mode::reduce_only)->Iterations(kIterations)->Unit(benchmark::kMillisecond);

/// Ranks other than 0 run the same benchmarks silently.
struct Silent : benchmark::BenchmarkReporter {
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  bench::setup_threads(argc, argv, args);
  dist::Environment mpi;
  return dist::run_or_abort([&] {
    int count = static_cast<int>(args.size());
    benchmark::Initialize(&count, args.data());
    Silent silent;
    if (dist::rank() == 0)
      benchmark::RunSpecifiedBenchmarks();
    else
      benchmark::RunSpecifiedBenchmarks(&silent);
    benchmark::Shutdown();
    return 0;
  });
}
