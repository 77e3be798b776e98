// Ranks of a build with tapegrad::dist: MPI when an MPI launcher started the process, else alone.
#include <algorithm>

#include "distributed/environment.hpp"
#include "distributed/model_sync.hpp"
#include "distributed/reducer.hpp"
#include "ranks.hpp"

namespace dist = tapegrad::dist;

namespace trainer {

struct Ranks::Reducer {
  dist::GradientReducer gradients;
};

Ranks::Ranks(int rank, int size) : rank_(rank), size_(size) {}
Ranks::~Ranks() = default;

int Ranks::run(int& argc, char**& argv, const std::function<int(Ranks&)>& body) {
  if (!dist::launched_by_mpi()) {
    Ranks alone(0, 1);
    return body(alone);
  }
  dist::Environment mpi(argc, argv);
  return dist::run_or_abort([&] {
    Ranks ranks(dist::rank(), dist::size());
    return body(ranks);
  });
}

void Ranks::start(tapegrad::nn::Module& model, const std::vector<std::string>& job) {
  if (size_ == 1) return;
  dist::check_same_lines(job, "jobs (same data and settings on every rank)");
  dist::check_same_model(model);
  dist::broadcast_state(model);
  reducer_.reset(new Reducer{dist::GradientReducer(model.parameters())});  // (neither copies nor moves)
}

void Ranks::backward(const tapegrad::Tensor& loss, int64_t rows, int64_t batch_rows) {
  if (!reducer_) return loss.backward();
  reducer_->gradients.backward(loss, dist::share(rows, batch_rows));
}

void Ranks::backward_nothing() {
  if (reducer_) reducer_->gradients.reduce(0.0);
}

bool Ranks::any(bool flag) {
  if (size_ == 1) return flag;
  double set = flag;
  dist::allreduce_sum({&set, 1});
  return set > 0;
}

void Ranks::sum(std::span<double> values) {
  if (size_ > 1) dist::allreduce_sum(values);
}

void Ranks::end_epoch(tapegrad::nn::Module& model) {
  if (size_ > 1) dist::average_buffers(model);
}

double Ranks::reduce_seconds() const { return reducer_ ? reducer_->gradients.reduce_seconds() : 0.0; }

}  // namespace trainer
