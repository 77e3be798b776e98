// doctest under MPI: every rank runs every test case (their collectives match); the job fails when
// any rank fails.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "distributed/environment.hpp"
#include "distributed/model_sync.hpp"

int main(int argc, char** argv) {
  namespace dist = tapegrad::dist;
  dist::Environment mpi(argc, argv);
  doctest::Context context(argc, argv);
  const int failed = context.run();
  double failures = failed != 0;
  dist::allreduce_sum({&failures, 1});
  return failures > 0 ? 1 : 0;
}
