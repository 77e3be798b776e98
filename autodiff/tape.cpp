#include "autodiff/tape.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "autodiff/detail/tensor_section.hpp"
#include "autodiff/error.hpp"
#include "autodiff/var.hpp"

namespace tapegrad {

namespace {
// One counter for every tape of the process: a generation names one recording of one tape.
std::atomic<Generation> next_generation{1};
Generation new_generation() { return next_generation.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

void detail::set_next_generation(Generation next) { next_generation.store(next, std::memory_order_relaxed); }

Tape::Tape()
    : generation_(new_generation()),
      first_generation_(generation_),
      outer_(detail::tls.tape),
      tensors_(std::make_unique<detail::TensorSection>(*this)) {
  detail::tls.tape = this;
  detail::tls.second_order = false;
  detail::refresh_recording();
}

bool Tape::is_live_here(const Tape* t) {
  for (const Tape* live = detail::tls.tape; live; live = live->outer_)
    if (live == t) return true;
  return false;
}

Tape::~Tape() {
  // A tape destroyed on another thread would leave its own thread's active-tape pointer dangling,
  // and that thread's next op would use freed memory: stop here, saying why (a destructor cannot
  // throw; std::thread's destructor ends the program the same way for the same kind of misuse).
  if (!is_live_here(this)) {
    std::fputs(
        "tapegrad: a Tape was destroyed on a thread other than the one that made it; a Tape is its thread's "
        "active tape and must end on that thread (docs/threads.md)\n",
        stderr);
    std::abort();
  }
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
  detail::tls.second_order = detail::tls.tape && detail::tls.tape->tangents_ == Tangents::second_order;
  detail::refresh_recording();
}

Tape* Tape::active_or_null() { return detail::tls.tape; }

Tape& Tape::active() {
  if (!detail::tls.tape)
    raise<TapeError>(
        "no active tape: construct a tapegrad::Tape (it becomes this thread's active tape) before "
        "creating Vars or running tensor ops");
  return *detail::tls.tape;
}

void Tape::replay() {
  if (n_stmts_ > 0 || n_leaves_ > 1)
    raise<TapeError>("replay: the tape holds scalar (Var) statements; replay runs tensor recordings only");
  if (tangents_ != Tangents::none) raise<TapeError>("replay: a tangent recording (jvp, hvp) cannot be replayed");
  tensors_->replay();
}

void Tape::refuse_replay(const char* what) { tensors_->refuse_replay(what); }

void Tape::clear() {
  generation_ = new_generation();
  n_entries_ = 0;
  n_stmts_ = 0;
  n_leaves_ = 1;  // the sink
  scalar_backward_done_ = false;
  scalar_has_adjoints_ = false;
  swept_entries_ = 0;
  swept_stmts_ = 0;
  names_.clear();
  leaf_tangent_.assign(1, 0.0);  // the sink's
  stmt_tangent_.clear();
  tensors_->clear();
}

void Tape::throw_foreign(const char* what, Generation gen) const {
  if (gen >= first_generation_ && gen < generation_)
    raise<TapeError>(
        "{} is from a cleared tape: handle generation {}, tape generation {}. Scalar Vars "
        "(inputs included) belong to one recording: keep the numbers as doubles and make new Vars "
        "after tape.clear() (`Var x = x_value;`); tensor leaves (parameters) do outlive clear()",
        what, gen, generation_);
  raise<TapeError>(
      "{} belongs to another tape (handle generation {}, active tape generation {}): values from "
      "different tapes cannot be combined; pass plain numbers into an inner tape instead",
      what, gen, generation_);
}

void Tape::grow(size_t needed) {
  const size_t cap = std::max<size_t>({1024, 2 * partial_.size(), n_entries_ + needed});
  partial_.resize(cap);
  index_.resize(cap);
  if (tangents_ == Tangents::second_order) partial_tangent_.resize(cap);
  partial_ptr_ = partial_.data();
  index_ptr_ = index_.data();
  capacity_ = cap;
}

// ---- tangent recordings ----

void Tape::record_tangents(Tangents mode) {
  clear();
  tangents_ = mode;
  tensors_->record_tangents(mode != Tangents::none);
  if (mode == Tangents::second_order) partial_tangent_.resize(capacity_);
  if (detail::tls.tape == this) {
    detail::tls.second_order = mode == Tangents::second_order;
    detail::refresh_recording();
  }
}

Tape::Id Tape::record_tangent_leaf() {
  if (n_leaves_ == kMaxIds) check_ids();
  return {static_cast<int32_t>(-++n_leaves_), generation_};  // its tangent: 0 until set_tangent
}

Tape::TangentPusher Tape::begin_second_order_statement(size_t leaves) {
  if (n_entries_ + leaves > capacity_) grow(leaves);
  return {partial_ptr_ + n_entries_, partial_tangent_.data() + n_entries_, index_ptr_ + n_entries_, generation_, this};
}

Tape::Id Tape::finish_second_order_statement(const TangentPusher& p, size_t leaves, const char* name,
                                             const char* nonfinite_op) {
  if (p.constants == leaves) return {kSinkId, 0};  // only constants: the result is a constant
  n_entries_ += leaves;
  if (n_stmts_ == kMaxIds) check_ids();
  const auto id = static_cast<int32_t>(n_stmts_++);
  stmt_tangent_.push_back(p.statement_tangent);
  if (detail::tls.anomaly) name_slot(id, name, nonfinite_op);
  return {id, generation_};
}

void Tape::record_statement_tangent(size_t first, size_t k) {
  double tangent = 0.0;
  for (size_t e = first; e < first + k; ++e) tangent += partial_[e] * tangent_of(index_[e] >> 1);
  stmt_tangent_.push_back(tangent);
  n_entries_ = first;
}

void Tape::throw_not_a_leaf(const Var& v) const {
  if (tangents_ == Tangents::none)
    raise<TapeError>("set_tangent: the tape records no tangents; start a recording with record_tangents()");
  if (v.gen_ != 0 && !owns(v.gen_)) throw_foreign("set_tangent: Var", v.gen_);
  raise<ValueError>("set_tangent: the Var is not a leaf of this recording ({})",
                    v.gen_ == 0 ? "a constant" : "the result of a statement");
}

double Tape::tangent(const Var& v) const {
  if (v.gen_ == 0) return 0.0;
  if (!owns(v.gen_)) throw_foreign("tangent: Var", v.gen_);
  if (tangents_ == Tangents::none) raise<TapeError>("tangent: this recording carries no tangents");
  return tangent_of(v.slot_);
}

void Tape::set_tangent(const Tensor& x, const Tensor& tangent) {
  if (tangents_ == Tangents::none)
    raise<TapeError>("set_tangent: the tape records no tangents; start a recording with record_tangents()");
  const Array& xv = x.value();
  const Array& tv = tangent.value();
  if (!(tv.shape() == xv.shape()))
    raise<ShapeError>("set_tangent: the tangent has shape {}, the tensor {}; they must match", tv.shape(), xv.shape());
  if (tv.dtype() != xv.dtype())
    raise<ValueError>("set_tangent: the tangent is {}, the tensor {}; they must match", dtype_name(tv.dtype()),
                      dtype_name(xv.dtype()));
  tensors_->set_tangent(tensors_->slot_of(x, "set_tangent"), tensors_->slot_of(tangent, "set_tangent"));
}

Tensor Tape::tangent(const Tensor& t) {
  if (tangents_ == Tangents::none) raise<TapeError>("tangent: this recording carries no tangents");
  const uint32_t tangent = tensors_->tangent_of(tensors_->slot_of(t, "tangent"));
  return tangent == detail::kNoSlot ? Tensor::zeros(t.shape(), t.dtype()) : tensors_->handle(tangent);
}

void Tape::check_no_tangents(const char* what) const {
  if (tangents_ != Tangents::none)
    raise<TapeError>(
        "{}: called inside a function that jvp, hvp, hessian or gradgradcheck is differentiating; the scalar tape "
        "differentiates one level, so a gradient taken inside that function would be a constant to the outer "
        "derivative. A gradient can be differentiated forward over reverse: gradient(g, x) inside a function "
        "passed to jvp (docs/higher-order.md)",
        what);
}

void Tape::backward_second_order(const Var& root) {
  if (tangents_ != Tangents::second_order)
    raise<TapeError>("backward_second_order: the recording does not carry partials' tangents");
  if (!owns(root.gen_)) throw_foreign("backward root", root.gen_);
  reset_adjoints();
  adj_tangent_.assign(adj_.size(), 0.0);
  double* adj = adjoints();
  double* adj_tangent = adj_tangent_.data() + (adj - adj_.data());
  adj[root.slot_] = 1.0;
  // d/dt of adj[id] += p a  is  adj_tangent[id] += p' a + p a': the gradient and H t in one sweep.
  const double* partial = partial_.data();
  const double* partial_tangent = partial_tangent_.data();
  const int32_t* index = index_.data();
  int64_t out = n_stmts_ - 1;
  double a = out >= 0 ? adj[out] : 0.0, a_tangent = out >= 0 ? adj_tangent[out] : 0.0;
  for (size_t e = n_entries_; e-- > 0;) {
    const int32_t raw = index[e];
    const int32_t id = raw >> 1;
    if (a != 0.0 || a_tangent != 0.0) {  // as sweep(): zeros keep 0 * inf out of unreached statements
      const double v = adj[id] + partial[e] * a;
      const double v_tangent = adj_tangent[id] + partial_tangent[e] * a + partial[e] * a_tangent;
      adj[id] = v;
      adj_tangent[id] = v_tangent;
      if (raw & 1) {  // statement done; in a chain the operand just updated is the previous statement
        if (id == --out) [[likely]] {
          a = v;
          a_tangent = v_tangent;
        } else {
          a = adj[out];
          a_tangent = adj_tangent[out];
        }
      }
    } else if (raw & 1) {
      --out;
      a = adj[out];
      a_tangent = adj_tangent[out];
    }
  }
  scalar_has_adjoints_ = true;
  scalar_backward_done_ = true;
  swept_entries_ = n_entries_;
  swept_stmts_ = n_stmts_;
}

double Tape::grad_tangent(const Var& v) const {
  if (v.gen_ == 0) return 0.0;
  if (!owns(v.gen_)) throw_foreign("grad_tangent: Var", v.gen_);
  if (!scalar_has_adjoints_ || adj_tangent_.size() != adj_.size())
    raise<TapeError>("grad_tangent: read before backward_second_order()");
  const bool swept = v.slot_ < 0 ? -v.slot_ <= adj_leaves_ : v.slot_ < adj_stmts_;
  return swept ? adj_tangent_[static_cast<size_t>(1 + adj_leaves_ + v.slot_)] : 0.0;
}

void Tape::check_ids() const {
  raise<TapeError>("tape: more than {} scalar statements or leaves in one recording; clear the tape", kMaxIds);
}

void Tape::name_slot(int32_t slot, const char* name, const char* nonfinite_op) {
  if (nonfinite_op)
    raise<NumericError>("anomaly mode: forward op '{}' produced a non-finite value (scalar slot {})", nonfinite_op,
                        slot);
  if (names_.size() <= static_cast<size_t>(slot)) names_.resize(static_cast<size_t>(slot) + 1, nullptr);
  names_[static_cast<size_t>(slot)] = name;
}

namespace detail {
void throw_already_swept() {
  raise<TapeError>(
      "backward: this output, or a value it was computed from, was recorded before the last backward(), which "
      "swept that part of the recording; a second sweep through it would add into the same gradients. Pass "
      "BackwardOptions{{.retain_graph = true}} to the first backward() to sweep it again on purpose, or "
      "tape.clear() and record again (outputs recorded after a backward() may be swept on their own)");
}
}  // namespace detail

void Tape::backward(const Var& root, BackwardOptions options) {
  check_no_tangents("backward");
  if (root.gen_ == 0) raise<TapeError>("backward: called on a constant Var (nothing was recorded)");
  if (!owns(root.gen_)) throw_foreign("backward root", root.gen_);
  // After a sweep without retain_graph, a root recorded since may still be swept (loss1.backward();
  // loss2.backward()): its sweep covers only the new statements and must not reach the old ones.
  const bool only_new = scalar_backward_done_;
  if (only_new && root.slot_ < swept_stmts_) detail::throw_already_swept();
  // A second sweep starts from fresh adjoints, then adds the earlier gradients (adjoints are linear
  // in the seed), so intermediates are not propagated twice.
  const bool accumulate = scalar_has_adjoints_;
  const int64_t old_leaves = adj_leaves_, old_stmts = adj_stmts_;
  if (accumulate) retained_.assign(adj_.begin(), adj_.end());
  reset_adjoints();
  scalar_has_adjoints_ = true;
  adjoints()[root.slot_] = 1.0;
  const size_t first_entry = only_new ? swept_entries_ : 0;
  if (detail::tls.anomaly)
    sweep_checked(first_entry);
  else
    sweep(first_entry);
  if (only_new && std::any_of(adjoints(), adjoints() + swept_stmts_, [](double a) { return a != 0.0; })) {
    adj_.swap(retained_);  // the earlier gradients, untouched
    adj_leaves_ = old_leaves;
    adj_stmts_ = old_stmts;
    detail::throw_already_swept();
  }
  if (accumulate)
    for (int64_t id = -old_leaves; id < old_stmts; ++id)
      adjoints()[id] += retained_[static_cast<size_t>(1 + old_leaves + id)];
  scalar_backward_done_ = !options.retain_graph;
  swept_entries_ = n_entries_;
  swept_stmts_ = n_stmts_;
}

std::vector<const char*> Tape::tensor_op_names() const { return tensors_->op_names(); }

void Tape::reset_adjoints() {
  adj_leaves_ = n_leaves_;
  adj_stmts_ = n_stmts_;
  adj_.assign(static_cast<size_t>(1 + n_leaves_ + n_stmts_), 0.0);  // keeps capacity once warm
}

void Tape::sweep(size_t first_entry) {
  double* adj = adjoints();
  const double* partial = partial_.data();
  const int32_t* index = index_.data();
  // One statement per pass, from its last entry down to its first (the entry whose low bit is set):
  // its adjoint a is tested once per statement, and the entry loop is a load, a multiply-add and a
  // store.
  int64_t out = n_stmts_ - 1;
  double a = out >= 0 ? adj[out] : 0.0;
  for (size_t e = n_entries_; e > first_entry; --out) {
    int32_t raw = 0;
    if (a != 0.0) {  // skipping zeros keeps 0 * inf out of unreached statements
      double v = 0.0;
      do {
        raw = index[--e];
        v = adj[raw >> 1] + partial[e] * a;
        adj[raw >> 1] = v;
      } while (!(raw & 1));
      // In a chain the first operand is the previous statement: take its adjoint from the register
      // instead of waiting for the store to reach the load.
      if ((raw >> 1) == out - 1) [[likely]] {
        a = v;
        continue;
      }
    } else {
      do raw = index[--e];
      while (!(raw & 1));
    }
    a = adj[out - 1];  // out - 1 is -1 (the sink) only where the sweep ends
  }
}

void Tape::sweep_checked(size_t first_entry) {
  double* adj = adjoints();
  int64_t out = n_stmts_ - 1;
  for (size_t e = n_entries_; e-- > first_entry;) {
    const int32_t raw = index_[e];
    const double a = adj[out];
    if (a != 0.0) {
      const double contribution = partial_[e] * a;
      if (!std::isfinite(contribution) && (raw >> 1) != kSinkId) {  // a constant's is nobody's gradient
        const auto slot = static_cast<size_t>(out);
        const char* name = slot < names_.size() && names_[slot] ? names_[slot] : "an op recorded outside anomaly mode";
        raise<NumericError>(
            "anomaly mode: backward through scalar statement {} ({}) produced a non-finite gradient "
            "(local partial {}, incoming gradient {})",
            out, name, partial_[e], a);
      }
      adj[raw >> 1] += contribution;
    }
    out -= raw & 1;
  }
}

double Tape::grad(const Var& v) const {
  if (v.gen_ == 0) return 0.0;
  if (!owns(v.gen_)) throw_foreign("grad: Var", v.gen_);
  if (!scalar_has_adjoints_) raise<TapeError>("grad: read before backward(); call backward() on the output first");
  const bool swept = v.slot_ < 0 ? -v.slot_ <= adj_leaves_ : v.slot_ < adj_stmts_;
  return swept ? adj_[static_cast<size_t>(1 + adj_leaves_ + v.slot_)] : 0.0;  // 0: recorded after backward
}

std::vector<double> Tape::jacobian(std::span<const Var> outputs, std::span<const Var> inputs) {
  std::vector<double> jac(outputs.size() * inputs.size());
  jacobian(outputs, inputs, jac);
  return jac;
}

void Tape::jacobian(std::span<const Var> outputs, std::span<const Var> inputs, std::span<double> out) {
  check_no_tangents("jacobian");
  if (out.size() != outputs.size() * inputs.size())
    raise<ShapeError>("jacobian: {} values given for {} outputs x {} inputs", out.size(), outputs.size(),
                      inputs.size());
  for (const Var& v : inputs)
    if (v.gen_ != 0 && !owns(v.gen_)) throw_foreign("jacobian: input", v.gen_);
  std::fill(out.begin(), out.end(), 0.0);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Var& y = outputs[i];
    if (y.gen_ == 0) continue;  // a constant output has a zero row
    if (!owns(y.gen_)) throw_foreign("jacobian: output", y.gen_);
    reset_adjoints();
    adjoints()[y.slot_] = 1.0;
    sweep(0);
    for (size_t j = 0; j < inputs.size(); ++j)
      if (inputs[j].gen_ != 0) out[i * inputs.size() + j] = adjoints()[inputs[j].slot_];
  }
  scalar_has_adjoints_ = false;  // the rows are in out; grad() needs a backward() of its own
}

void Tape::jacobian_product(std::span<const Var> outputs, std::span<const Var> inputs,
                            std::span<const double> directions, std::span<double> out) {
  check_no_tangents("jacobian_product");
  if (inputs.empty() || directions.size() % inputs.size() != 0)
    raise<ShapeError>("jacobian_product: {} direction values for {} inputs; give inputs x k", directions.size(),
                      inputs.size());
  const size_t k = directions.size() / inputs.size();
  if (out.size() != outputs.size() * k)
    raise<ShapeError>("jacobian_product: {} values given for {} outputs x {} directions", out.size(), outputs.size(),
                      k);
  for (const Var& v : inputs) {
    if (v.gen_ == 0) continue;
    if (!owns(v.gen_)) throw_foreign("jacobian_product: input", v.gen_);
    if (v.slot_ >= 0) throw_not_a_leaf(v);
  }
  for (const Var& y : outputs)
    if (y.gen_ != 0 && !owns(y.gen_)) throw_foreign("jacobian_product: output", y.gen_);
  // k tangents per id, leaves (ids -n_leaves_ .. -2) and the sink (-1, kept 0) first, then statements
  const auto n_leaves = static_cast<size_t>(n_leaves_);
  // Only the leaves' rows start at 0: each statement's row is set by its first entry.
  product_tangents_.resize((n_leaves + static_cast<size_t>(n_stmts_)) * k);
  std::fill_n(product_tangents_.begin(), n_leaves * k, 0.0);
  double* tangent = product_tangents_.data() + n_leaves * k;  // id's k tangents at tangent + id * k
  for (size_t j = 0; j < inputs.size(); ++j)
    if (inputs[j].gen_ != 0)
      std::copy_n(directions.data() + j * k, k,
                  tangent + static_cast<ptrdiff_t>(inputs[j].slot_) * static_cast<ptrdiff_t>(k));
  const double* partial = partial_.data();
  const int32_t* index = index_.data();
  // The statement being summed: its tangents = the sum of partial x operand's tangents, its first
  // entry (the one flagged) setting them.
  double* statement = tangent - k;
  for (size_t e = 0; e < n_entries_; ++e) {
    const int32_t raw = index[e];
    const double p = partial[e];
    const double* operand = tangent + static_cast<ptrdiff_t>(raw >> 1) * static_cast<ptrdiff_t>(k);
    if (raw & 1) {
      statement += k;
      for (size_t c = 0; c < k; ++c) statement[c] = p * operand[c];
    } else {
      for (size_t c = 0; c < k; ++c) statement[c] += p * operand[c];
    }
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Var& y = outputs[i];
    if (y.gen_ == 0)
      std::fill_n(out.data() + i * k, k, 0.0);  // a constant output has a zero row
    else
      std::copy_n(tangent + static_cast<ptrdiff_t>(y.slot_) * static_cast<ptrdiff_t>(k), k, out.data() + i * k);
  }
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
