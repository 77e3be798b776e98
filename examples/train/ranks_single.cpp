// Ranks of a build without MPI: one process, rank 0 of 1.
#include "ranks.hpp"

namespace trainer {

struct Ranks::Reducer {};

Ranks::Ranks(int rank, int size) : rank_(rank), size_(size) {}
Ranks::~Ranks() = default;

int Ranks::run(int&, char**&, const std::function<int(Ranks&)>& body) {
  Ranks alone(0, 1);
  return body(alone);
}

void Ranks::start(tapegrad::nn::Module&, const std::vector<std::string>&) {}
void Ranks::backward(const tapegrad::Tensor& loss, int64_t, int64_t) { loss.backward(); }
void Ranks::backward_nothing() {}
bool Ranks::any(bool flag) { return flag; }
void Ranks::sum(std::span<double>) {}
void Ranks::end_epoch(tapegrad::nn::Module&) {}
double Ranks::reduce_seconds() const { return 0; }

}  // namespace trainer
