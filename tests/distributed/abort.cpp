// A rank that throws mid-epoch: run under mpirun -np 2, rank 1 fails at step 3 while rank 0 waits
// in the step's reduction. Every rank must end, with a non-zero exit and a message naming rank 1
// (cmake/dist_abort_test.cmake checks both).
#include <random>

#include "autodiff/autodiff.hpp"
#include "distributed/environment.hpp"
#include "distributed/reducer.hpp"
#include "nn/nn.hpp"

using namespace tapegrad;

int main(int argc, char** argv) {
  dist::Environment mpi(argc, argv);
  return dist::run_or_abort([] {
    std::mt19937_64 rng(1);
    nn::Linear layer(4, 2, rng);
    dist::GradientReducer reducer(layer.parameters());
    Tape tape;
    for (int step = 0; step < 100; ++step) {
      tape.clear();
      layer.zero_grad();
      if (dist::rank() == 1 && step == 3) throw ValueError("step 3: this rank's data is corrupt (injected failure)");
      reducer.backward(sum(layer(Tensor::ones({3, 4}))), 1.0 / dist::size());
    }
    return 0;
  });
}
