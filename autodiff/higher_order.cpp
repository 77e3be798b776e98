#include "autodiff/higher_order.hpp"

#include <unistd.h>

#include "autodiff/error.hpp"

namespace tapegrad {

namespace {

/// Grad mode on for the call's own recording, whatever the caller's (a NoGradGuard outside
/// pauses the caller's recording, not ours); restored at the end.
class GradModeOn {
 public:
  GradModeOn() : saved_(detail::tls.grad_enabled) {
    detail::tls.grad_enabled = true;
    detail::refresh_recording();
  }
  ~GradModeOn() {
    detail::tls.grad_enabled = saved_;
    detail::refresh_recording();
  }
  GradModeOn(const GradModeOn&) = delete;
  GradModeOn& operator=(const GradModeOn&) = delete;

 private:
  bool saved_;
};

void check_direction(const char* what, std::span<const double> x, std::span<const double> v) {
  if (v.size() != x.size())
    raise<ShapeError>("{}: the direction has {} entries, the point {}; they must match", what, v.size(), x.size());
}

/// f recorded at x with tangents v on `tape` (a tape of the call's own).
Var record_with_tangents(Tape& tape, Tape::Tangents mode, const VarFunction& f, std::span<const double> x,
                         std::span<const double> v, std::vector<Var>& leaves) {
  tape.record_tangents(mode);
  leaves.assign(x.begin(), x.end());
  for (size_t i = 0; i < x.size(); ++i) tape.set_tangent(leaves[i], v[i]);
  return f(leaves);
}

std::vector<double> hvp_on(Tape& tape, const VarFunction& f, std::span<const double> x, std::span<const double> v,
                           std::vector<Var>& leaves) {
  const Var y = record_with_tangents(tape, Tape::Tangents::second_order, f, x, v, leaves);
  std::vector<double> hv(x.size(), 0.0);
  if (y.is_constant()) return hv;  // f does not depend on x
  tape.backward_second_order(y);
  for (size_t i = 0; i < x.size(); ++i) hv[i] = tape.grad_tangent(leaves[i]);
  return hv;
}

}  // namespace

JvpResult jvp(const VarFunction& f, std::span<const double> x, std::span<const double> v) {
  check_direction("jvp", x, v);
  GradModeOn grad_on;
  Tape tape;
  std::vector<Var> leaves;
  const Var y = record_with_tangents(tape, Tape::Tangents::forward, f, x, v, leaves);
  return {y.value(), tape.tangent(y)};
}

std::vector<double> hvp(const VarFunction& f, std::span<const double> x, std::span<const double> v) {
  check_direction("hvp", x, v);
  GradModeOn grad_on;
  Tape tape;
  std::vector<Var> leaves;
  return hvp_on(tape, f, x, v, leaves);
}

std::vector<double> hessian(const VarFunction& f, std::span<const double> x) {
  const size_t n = x.size();
  size_t entries = 0, bytes = 0;
  const auto pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  const double memory = pages > 0 && page > 0 ? double(pages) * double(page) : 0.0;
  if (__builtin_mul_overflow(n, n, &entries) || __builtin_mul_overflow(entries, sizeof(double), &bytes) ||
      (memory > 0 && double(bytes) > memory / 2))
    raise<ValueError>(
        "hessian: {} inputs make a {} x {} Hessian of {:.4g} bytes, more than half this machine's memory ({:.4g} "
        "bytes); take Hessian-vector products (hvp) instead",
        n, n, n, double(n) * double(n) * sizeof(double), memory);
  GradModeOn grad_on;
  Tape tape;
  std::vector<Var> leaves;
  std::vector<double> h(entries), e(n, 0.0);
  for (size_t j = 0; j < n; ++j) {  // column j = H e_j; H is symmetric, so row j too
    e[j] = 1.0;
    const auto column = hvp_on(tape, f, x, e, leaves);
    e[j] = 0.0;
    for (size_t i = 0; i < n; ++i) h[i * n + j] = column[i];
  }
  return h;
}

}  // namespace tapegrad
