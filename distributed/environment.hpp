#pragma once
/// \file
/// MPI for data-parallel training: start-up and shutdown, this process's rank, and the rule that a
/// failing rank takes the whole job down with a message instead of leaving the others waiting.
///
///   int main(int argc, char** argv) {
///     dist::Environment mpi(argc, argv);          // MPI_Init_thread ... MPI_Finalize
///     return dist::run_or_abort([&] { ... });     // an exception on any rank ends every rank
///   }
///
/// Only this library (tapegrad::dist) links MPI; autodiff and nn know nothing of it.
#include <exception>
#include <string_view>

#include "autodiff/error.hpp"

namespace tapegrad::dist {

/// An MPI call failed, or the ranks disagree (different models, different data).
struct DistError : Error {
  using Error::Error;
};

/// Whether this process was started by an MPI launcher (mpirun/mpiexec of Open MPI or MPICH,
/// srun): the environment variables they set. Lets one program run alone without touching MPI.
bool launched_by_mpi();

/// Initialises MPI (threads: funneled, the main thread makes every MPI call) and finalises it.
/// One per process; errors of MPI calls are returned and raised as DistError.
class Environment {
 public:
  /// With the command line, which MPI may read and edit.
  Environment(int& argc, char**& argv);
  /// Without the command line (MPI allows it).
  Environment();
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

 private:
  Environment(int* argc, char*** argv);
};

/// This process's rank in the job (0 when MPI is not initialised).
int rank();
/// The number of ranks in the job (1 without MPI).
int size();

/// Prints "tapegrad rank R of N: message" to stderr and ends every rank of the job (MPI_Abort) with
/// exit code `code`; without MPI, exits this process.
[[noreturn]] void abort_all(std::string_view message, int code = 1);

/// Runs f and returns its result; an exception escaping f on any rank ends the whole job through
/// abort_all with the exception's message, so no rank is left waiting in a collective.
template <class F>
int run_or_abort(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    abort_all(e.what());
  } catch (...) {
    abort_all("unknown exception");
  }
}

namespace detail {
/// Raises DistError naming the call and MPI's own description when rc is not MPI_SUCCESS.
void check_mpi(int rc, const char* call);
}  // namespace detail

}  // namespace tapegrad::dist
