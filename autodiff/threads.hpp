#pragma once
/// \file
/// How many threads tapegrad uses: its elementwise pool and the BLAS together. The default is the
/// TAPEGRAD_NUM_THREADS environment variable if set, else every core. The setting is process-wide:
/// set it once at start-up, not while other threads run ops.
namespace tapegrad {

/// Uses n threads (1 = everything on the calling thread); n above the core count is capped there.
/// ValueError if n < 1.
void set_num_threads(int n);
/// The thread count ops use: the last set_num_threads, else the default above.
int num_threads();

}  // namespace tapegrad
