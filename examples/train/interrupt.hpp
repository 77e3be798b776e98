#pragma once
/// \file
/// Ctrl-C and SIGTERM as a flag the training loop polls, handled only on threads that run no
/// oneDNN kernel.
///
/// Why: oneDNN 2.6's AVX-512 sgemm kernel, which runs tapegrad's float products on this machine,
/// points the stack pointer into its heap workspace for inner dimensions above 84. A handler that
/// runs on a thread inside that kernel has its signal frame written into the heap, below the
/// workspace, and a later malloc or free aborts ("corrupted size vs. prev_size"): the trainer's
/// Ctrl-C test failed so, about once in six runs. The watcher blocks the signals in the calling
/// thread, and so in every thread started after it (the thread pool's, OpenMP's, which run oneDNN's
/// kernels, and MPI's), and keeps one thread of its own unblocked to take them. Threads started
/// before main (OpenBLAS's) may take them too: their kernels keep the stack pointer on the stack.
#include <condition_variable>
#include <mutex>
#include <thread>

namespace trainer {

/// Takes SIGINT and SIGTERM (see the file comment): any of them asks the training loop to stop
/// (requested()). A second one does not end the process at once: the same Ctrl-C often arrives
/// twice (`timeout` signals the child and then its process group; under mpirun a rank gets the
/// terminal's SIGINT and mpirun's SIGTERM). One watcher at a time.
class InterruptWatcher {
 public:
  /// Installs the handler, blocks SIGINT and SIGTERM in the calling thread and starts the thread
  /// that takes them. Make it before any thread that computes (MPI's, the pool's, OpenMP's).
  InterruptWatcher();
  /// Stops the thread, restores the signals' former handlers and unblocks them in the calling thread.
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  /// Whether SIGINT or SIGTERM has arrived since the watcher was made.
  bool requested() const;

 private:
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread taker_;  ///< leaves the signals unblocked and waits for stop_
};

}  // namespace trainer
