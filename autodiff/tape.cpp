#include "autodiff/tape.hpp"

#include <atomic>
#include <cmath>

#include "autodiff/error.hpp"
#include "autodiff/tensor_section.hpp"
#include "autodiff/var.hpp"

namespace tapegrad {

namespace {
// One counter for every tape of the process: a generation names one recording of one tape.
std::atomic<uint32_t> next_generation{1};
uint32_t new_generation() { return next_generation.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

Tape::Tape()
    : generation_(new_generation()),
      first_generation_(generation_),
      outer_(detail::tls.tape),
      tensors_(std::make_unique<detail::TensorSection>(*this)) {
  detail::tls.tape = this;
  detail::refresh_recording();
}

Tape::~Tape() {
  // Unlink from the thread's stack of tapes (normally the top, but tolerate any order).
  if (detail::tls.tape == this) {
    detail::tls.tape = outer_;
  } else {
    for (Tape* t = detail::tls.tape; t; t = t->outer_)
      if (t->outer_ == this) {
        t->outer_ = outer_;
        break;
      }
  }
  detail::refresh_recording();
}

Tape& Tape::active() {
  if (!detail::tls.tape)
    raise<TapeError>(
        "no active tape: construct a tapegrad::Tape (it becomes this thread's active tape) before "
        "creating Vars or running tensor ops");
  return *detail::tls.tape;
}

void Tape::clear() {
  generation_ = new_generation();
  n_entries_ = 0;
  n_slots_ = 1;
  scalar_backward_done_ = false;
  scalar_has_adjoints_ = false;
  names_.clear();
  tensors_->clear();
}

void Tape::throw_foreign(const char* what, uint32_t gen) const {
  if (gen >= first_generation_ && gen < generation_)
    raise<TapeError>(
        "{} is from a cleared tape: handle generation {}, tape generation {}. Values recorded "
        "before tape.clear() cannot be used afterwards; re-record them (or keep them as leaves/"
        "parameters, which outlive clear())",
        what, gen, generation_);
  raise<TapeError>(
      "{} belongs to another tape (handle generation {}, active tape generation {}): values from "
      "different tapes cannot be combined; pass plain numbers into an inner tape instead",
      what, gen, generation_);
}

void Tape::grow(size_t needed) {
  const size_t cap = std::max<size_t>({1024, 2 * partial_.size(), n_entries_ + needed});
  if (cap > kSlotMask) raise<TapeError>("tape: more than {} scalar entries; clear the tape", kSlotMask);
  partial_.resize(cap);
  index_.resize(cap);
}

void Tape::name_slot(uint32_t slot, const char* name, const char* nonfinite_op) {
  if (nonfinite_op)
    raise<NumericError>("anomaly mode: forward op '{}' produced a non-finite value (scalar slot {})",
                        nonfinite_op, slot);
  if (names_.size() <= slot) names_.resize(slot + 1, nullptr);
  names_[slot] = name;
}

void Tape::backward(const Var& root, BackwardOptions options) {
  if (root.gen_ == 0) raise<TapeError>("backward: called on a constant Var (nothing was recorded)");
  if (!owns(root.gen_)) throw_foreign("backward root", root.gen_);
  if (scalar_backward_done_)
    raise<TapeError>(
        "backward: this recording was already swept; a second sweep would add into the same "
        "gradients. Pass BackwardOptions{{.retain_graph = true}} to the first backward() to "
        "accumulate on purpose, or tape.clear() and record again");
  // A retained recording swept again: sweep from fresh adjoints, then add the earlier gradients
  // (adjoints are linear in the seed), so intermediates are not propagated twice.
  const bool accumulate = scalar_has_adjoints_;
  if (accumulate) retained_.assign(adj_.begin(), adj_.end());
  adj_.assign(n_slots_, 0.0);  // keeps capacity once warm
  scalar_has_adjoints_ = true;
  adj_[root.slot_] = 1.0;
  if (detail::tls.anomaly)
    sweep_checked();
  else
    sweep(root.slot_);
  if (accumulate)
    for (size_t i = 0; i < retained_.size(); ++i) adj_[i] += retained_[i];
  scalar_backward_done_ = !options.retain_graph;
}

void Tape::sweep(size_t /*root_slot*/) {
  double* adj = adj_.data();
  const double* partial = partial_.data();
  const uint32_t* index = index_.data();
  uint32_t out = n_slots_ - 1;
  for (size_t e = n_entries_; e-- > 0;) {
    const uint32_t raw = index[e];
    const double a = adj[out];
    if (a != 0.0) adj[raw & kSlotMask] += partial[e] * a;
    out -= raw >> 31;
  }
}

void Tape::sweep_checked() {
  uint32_t out = n_slots_ - 1;
  for (size_t e = n_entries_; e-- > 0;) {
    const uint32_t raw = index_[e];
    const double a = adj_[out];
    if (a != 0.0) {
      const double contribution = partial_[e] * a;
      if (!std::isfinite(contribution)) {
        const char* name = out < names_.size() && names_[out] ? names_[out] : "an op recorded outside anomaly mode";
        raise<NumericError>(
            "anomaly mode: backward through scalar slot {} ({}) produced a non-finite gradient "
            "(local partial {}, incoming gradient {})",
            out, name, partial_[e], a);
      }
      adj_[raw & kSlotMask] += contribution;
    }
    out -= raw >> 31;
  }
}

double Tape::grad(const Var& v) const {
  if (v.gen_ == 0) return 0.0;
  if (!owns(v.gen_)) throw_foreign("grad: Var", v.gen_);
  if (!scalar_has_adjoints_)
    raise<TapeError>("grad: read before backward(); call backward() on the output first");
  return v.slot_ < adj_.size() ? adj_[v.slot_] : 0.0;
}

std::vector<double> Tape::jacobian(std::span<const Var> outputs, std::span<const Var> inputs) {
  for (const Var& v : inputs)
    if (v.gen_ != 0 && !owns(v.gen_)) throw_foreign("jacobian: input", v.gen_);
  std::vector<double> jac(outputs.size() * inputs.size(), 0.0);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Var& y = outputs[i];
    if (y.gen_ == 0) continue;  // a constant output has a zero row
    if (!owns(y.gen_)) throw_foreign("jacobian: output", y.gen_);
    adj_.assign(n_slots_, 0.0);
    adj_[y.slot_] = 1.0;
    sweep(y.slot_);
    for (size_t j = 0; j < inputs.size(); ++j)
      if (inputs[j].gen_ != 0) jac[i * inputs.size() + j] = adj_[inputs[j].slot_];
  }
  scalar_has_adjoints_ = false;  // the rows are in jac; grad() needs a backward() of its own
  return jac;
}

// ---- Var members that need the tape ----

double Var::grad() const { return gen_ == 0 ? 0.0 : Tape::active().grad(*this); }

void Var::backward(BackwardOptions options) const { Tape::active().backward(*this, options); }

std::vector<double> gradient(const Var& f, std::span<const Var> wrt) {
  Tape& tape = Tape::active();
  tape.backward(f, {});
  std::vector<double> g(wrt.size());
  for (size_t i = 0; i < wrt.size(); ++i) g[i] = tape.grad(wrt[i]);
  return g;
}

}  // namespace tapegrad
