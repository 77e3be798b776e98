#pragma once
/// \file
/// Per-thread autodiff state: the active tape, grad mode (NoGradGuard) and anomaly mode.
namespace tapegrad {

class Tape;

namespace detail {
struct ThreadState {
  Tape* tape = nullptr;       ///< innermost active tape
  Tape* recording = nullptr;  ///< == tape while grad mode is on, else nullptr (one load on the hot path)
  bool grad_enabled = true;
  bool anomaly = false;
  /// The innermost tape records second-order tangents (hvp): recording is null then, so that Var's
  /// constructors take their cold path, which evaluates partials on duals, and the plain path
  /// stays as it is. (Forward mode records on the plain path: see Tape::record.)
  bool second_order = false;
};
inline thread_local ThreadState tls;
inline void refresh_recording() { tls.recording = tls.grad_enabled && !tls.second_order ? tls.tape : nullptr; }
}  // namespace detail

/// False inside a NoGradGuard on this thread.
inline bool is_grad_enabled() { return detail::tls.grad_enabled; }
/// True inside an AnomalyGuard(true) on this thread.
inline bool is_anomaly_enabled() { return detail::tls.anomaly; }

namespace detail {
/// Sets grad mode on this thread for its lifetime, then puts back what it found.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : saved_(tls.grad_enabled) {
    tls.grad_enabled = enabled;
    refresh_recording();
  }
  ~GradModeGuard() {
    tls.grad_enabled = saved_;
    refresh_recording();
  }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool saved_;
};
}  // namespace detail

/// Pauses recording on this thread for its lifetime (c10's pattern): ops compute values only.
class NoGradGuard : detail::GradModeGuard {
 public:
  NoGradGuard() : GradModeGuard(false) {}
};

/// Turns recording on for its lifetime, even inside a NoGradGuard (PyTorch's enable_grad): for
/// code that must record whatever its caller's grad mode (jvp and hvp make their own recordings).
class EnableGradGuard : detail::GradModeGuard {
 public:
  EnableGradGuard() : GradModeGuard(true) {}
};

/// Opt-in anomaly mode: the first op that produces a non-finite value (forward) or gradient
/// (backward) raises NumericError naming it. Costs time; meant for debugging.
class AnomalyGuard {
 public:
  /// Turns anomaly mode on (or off, with false) on this thread until destroyed.
  explicit AnomalyGuard(bool enabled = true) : saved_(detail::tls.anomaly) { detail::tls.anomaly = enabled; }
  ~AnomalyGuard() { detail::tls.anomaly = saved_; }
  AnomalyGuard(const AnomalyGuard&) = delete;
  AnomalyGuard& operator=(const AnomalyGuard&) = delete;

 private:
  bool saved_;
};

}  // namespace tapegrad
