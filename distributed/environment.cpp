#include "distributed/environment.hpp"

#include <fmt/core.h>
#include <mpi.h>

#include <cstdio>
#include <cstdlib>

namespace tapegrad::dist {

bool launched_by_mpi() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(variable)) return true;
  return false;
}

namespace {
bool initialized() {
  int started = 0, ended = 0;
  MPI_Initialized(&started);
  MPI_Finalized(&ended);
  return started && !ended;
}
}  // namespace

Environment::Environment() : Environment(nullptr, nullptr) {}

Environment::Environment(int& argc, char**& argv) : Environment(&argc, &argv) {}

Environment::Environment(int* argc, char*** argv) {
  if (initialized()) raise<DistError>("dist::Environment: MPI is already initialised (one Environment per process)");
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    raise<DistError>("dist::Environment: MPI_Init_thread failed");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);  // failures become DistError, not aborts
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    raise<DistError>(
        "dist::Environment: this MPI does not support threads (funneled); tapegrad's thread pool needs it");
  }
}

Environment::~Environment() {
  if (initialized()) MPI_Finalize();
}

int rank() {
  int r = 0;
  if (initialized()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int size() {
  int n = 1;
  if (initialized()) MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

void abort_all(std::string_view message, int code) {
  std::fflush(stdout);
  fmt::print(stderr, "tapegrad rank {} of {}: error: {}\n", rank(), size(), message);
  std::fflush(stderr);
  if (initialized()) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

namespace detail {
void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  raise<DistError>("{} failed on rank {}: {}", call, rank(), std::string_view(text, static_cast<size_t>(length)));
}
}  // namespace detail

}  // namespace tapegrad::dist
