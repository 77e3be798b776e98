#pragma once
/// \file
/// Tape: an append-only linear record in creation order (a topological order by construction),
/// replayed backwards in one loop. Constructing a Tape makes it this thread's active tape; tapes
/// nest like a stack (an inner problem inside an outer one). clear() keeps capacity, so a reused tape
/// allocates nothing.
///
/// Scalar section (Adept layout, 12 bytes per operand): entry e holds the local partial
/// partial_[e] and index_[e] = (operand id << 1) | first, where `first` marks the first operand of
/// its statement. Statement s writes id s = 0, 1, 2, ...; leaves take ids -2, -3, ... and cost no
/// entries. Id -1 is a sink: a constant operand is recorded with it (so recording has no branch on
/// constants) and its adjoint is never read. The adjoint array is addressed from its middle (leaves
/// below 0), so the sweep is
///   adj[index >> 1] += partial * a;   if (index & 1) a = adj[--out];
///
/// Tangent recordings (made by jvp and hvp on tapes of their own, autodiff/higher_order.hpp) also
/// carry each id's tangent, the directional derivative along the leaves' tangents: forward mode keeps
/// only those, and stores no entries; second order also stores each partial's tangent beside it,
/// so one sweep carrying adjoints and their tangents gives the gradient and H v (forward over reverse).
///
/// Every handle carries the generation it was recorded under. Generations come from one global
/// counter, so a handle from a cleared tape or from another tape is detected, and explained.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "autodiff/grad_mode.hpp"

namespace tapegrad {

class Array;
class Tensor;
class Var;
namespace detail {
class TensorSection;
}

/// Names one recording of one tape. 64 bits: the process-wide counter never wraps (2^64 recordings
/// at one per nanosecond take 584 years), so a handle's generation is never handed out twice.
using Generation = uint64_t;
namespace detail {
/// Tests only: where the process-wide generation counter continues (to cross 2^32 without 2^32 clears).
void set_next_generation(Generation next);
}  // namespace detail

/// Options of backward() (scalar and tensor).
struct BackwardOptions {
  /// Allow a later backward() on the same recording; gradients then accumulate.
  bool retain_graph = false;
  /// Tensor recordings: called during the sweep with each leaf that requires grad (its value and
  /// gradient) as soon as no node left to sweep adds to its gradient, so work on finished gradients
  /// (sending them to other processes) overlaps with the rest of the sweep. Leaves no recorded node
  /// reads are not reported.
  std::function<void(const Array& value, Array& grad)> on_grad_ready{};
};

/// The recording of this thread's scalar and tensor ops, swept backwards by backward(). Constructing a
/// Tape makes it the thread's active tape until destroyed (tapes nest); it is not movable.
class Tape {
 public:
  Tape();
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// The thread's innermost tape; TapeError if there is none.
  static Tape& active();
  /// The thread's innermost tape, or null if there is none.
  static Tape* active_or_null();
  /// Whether t is one of this thread's live tapes (compares addresses only; never reads *t).
  static bool is_live_here(const Tape* t);

  /// Forgets every recorded op (O(1), capacity kept). Handles recorded before become stale.
  void clear();

  /// Runs the tensor recording again: every recorded op's forward, in recording order, on the
  /// leaves' current values (written in place: an input batch refilled, an optimizer's step), into
  /// the same buffers, with no recording work; backward() then works as after a fresh recording,
  /// and handles (the loss) stay valid. Random ops draw fresh masks from their generators, batch
  /// norm updates its running statistics, and C++ buffers an op read (class labels) are read again:
  /// they must keep their size and storage. TapeError, naming the cause, for a recording that read a
  /// result's value and then recorded more (it may branch on it), an op without a forward closure
  /// (OpRecord::forward), a leaf whose shape or dtype changed (both shapes), scalar statements, or a
  /// tangent recording.
  void replay();
  /// Makes replay() refuse this recording, naming `what` (a string literal): for code that computes
  /// between ops from values that replay could not read again (ids converted into a temporary).
  void refuse_replay(const char* what);

  /// The current recording's id; clear() starts a new one, making older handles stale.
  Generation generation() const { return generation_; }
  /// Scalar statements recorded since the last clear (leaves are not statements).
  size_t scalar_statements() const { return n_stmts_; }
  /// Scalar leaves created since the last clear.
  size_t scalar_leaves() const { return static_cast<size_t>(n_leaves_ - 1); }
  /// Scalar operand entries recorded since the last clear.
  size_t scalar_entries() const { return n_entries_; }
  /// Bytes of scalar tape in use: 12 per operand entry (adjoints are allocated at backward).
  size_t scalar_bytes() const { return n_entries_ * (sizeof(double) + sizeof(int32_t)); }
  /// The names of the tensor ops recorded since the last clear() that will be swept (those with an
  /// input needing a gradient), in recording order: for tests and debugging.
  std::vector<const char*> tensor_op_names() const;

  /// d outputs / d inputs, row-major [outputs x inputs], replaying this recording once per output.
  std::vector<double> jacobian(std::span<const Var> outputs, std::span<const Var> inputs);
  /// The same Jacobian written into `out` (outputs x inputs values; ShapeError otherwise), with no
  /// allocation once the tape is warm: for many small Jacobians, one recording each.
  void jacobian(std::span<const Var> outputs, std::span<const Var> inputs, std::span<double> out);
  /// Forward mode over this recording: J D, the Jacobian of outputs in inputs times `directions`
  /// (row-major [inputs x k], k columns), into `out` (row-major [outputs x k]), by one forward sweep
  /// of the recorded partials carrying k tangents per value. The Jacobian's columns (D = I), or a
  /// compressed Jacobian (D's columns seeding inputs no output shares), when outputs outnumber
  /// inputs; no re-recording, and no allocation once the tape is warm. Inputs are leaves of this
  /// recording (or constants, ignored). ShapeError for sizes that disagree.
  void jacobian_product(std::span<const Var> outputs, std::span<const Var> inputs, std::span<const double> directions,
                        std::span<double> out);

  // ---- tangent recordings: what jvp, hvp and hessian run on (autodiff/higher_order.hpp), public
  // for loops that reuse one warm tape for many of them ----
  /// What a recording carries besides values: partials (none), tangents only (forward), or
  /// partials with their tangents (second_order).
  enum class Tangents : uint8_t { none, forward, second_order };
  /// Starts a new recording (clear()) that carries the given tangents (none: a plain one again).
  void record_tangents(Tangents mode);
  /// What the current recording carries.
  Tangents tangents() const { return tangents_; }
  /// Sets the tangent of a leaf of this recording (0 unless set).
  void set_tangent(const Var& leaf, double tangent);
  /// The tangent of a Var of this recording (0 for constants).
  double tangent(const Var& v) const;
  /// One sweep from root carrying adjoints and their tangents (a second_order recording): then
  /// v.grad() is d root / d v and grad_tangent(v) its tangent, (H t)_v for a leaf v.
  void backward_second_order(const Var& root);
  /// The tangent of v's adjoint after backward_second_order.
  double grad_tangent(const Var& v) const;
  /// Tensors: sets the tangent of x (a leaf, or a tensor of this recording) to `tangent`, a tensor
  /// of x's shape and dtype (ShapeError or ValueError otherwise). Ops reading x then carry tangents:
  /// each runs its tangent rule, recorded as ordinary ops (autodiff/op.hpp, TangentContext).
  void set_tangent(const Tensor& x, const Tensor& tangent);
  /// Tensors: the tangent of t (zeros of its shape when nothing with a tangent reached it). It is
  /// a tensor of this recording: backward() from it differentiates the tangent (H v for t = f(x)
  /// with x's tangent v and x requiring grad: reverse over forward).
  Tensor tangent(const Tensor& t);

  // ---- used by Var, OpRecord and the tensor ops; not part of the user API ----
  /// \cond
  detail::TensorSection& tensors() { return *tensors_; }
  static constexpr int32_t kMaxIds = 1 << 29;
  static constexpr int32_t kSinkId = -1;  ///< the adjoint constant operands are recorded with
  struct Pusher;
  template <class E>
  void record(const E& expr, Var& out);
  void record_leaf(Var& out);
  void backward(const Var& root, BackwardOptions options);
  double grad(const Var& v) const;
  /// Throws TapeError explaining why a handle of generation `gen` does not belong here.
  [[noreturn]] void throw_foreign(const char* what, Generation gen) const;
  [[noreturn]] void throw_not_a_leaf(const Var& v) const;
  bool owns(Generation gen) const { return gen == generation_; }

  struct TangentPusher;
  /// A Var's slot and generation, returned in registers.
  struct Id {
    int32_t slot;
    Generation gen;
  };
  /// Second-order recordings: Var's constructors come here, off their hot path (tls.recording
  /// is null while the active tape records second-order tangents). A statement reading only
  /// constants is a constant. Whatever reads the expression here is forced inline: an expression
  /// tree whose address escapes (into record_tangent out of line, or a node's push_dual that GCC
  /// declines to inline on a cold path) is stored to the stack on the plain path too, which made
  /// plain recording of the stochastic volatility kernel 15-20% slower.
  template <class E>
  Id record_tangent(const E& expr);
  Id record_tangent_leaf();
  TangentPusher begin_second_order_statement(size_t leaves);
  Id finish_second_order_statement(const TangentPusher& p, size_t leaves, const char* name, const char* nonfinite_op);
  /// Forward mode, after Tape::record stored a statement's k partials from entry `first`: its
  /// tangent, the partials dotted with the operands' tangents. The entries are then dropped (no
  /// sweep reads them), so a forward recording holds one double per statement.
  void record_statement_tangent(size_t first, size_t k);
  /// The active tape, known to record second-order tangents when tls.tape is set (Var's cold
  /// path); active()'s TapeError when there is none.
  static Tape& second_order_recording() {
    if (Tape* t = detail::tls.tape) [[likely]]
      return *t;
    return active();
  }
  /// \endcond

 private:
  void grow(size_t needed);
  void check_no_tangents(const char* what) const;
  double tangent_of(int32_t id) const {
    if (id >= 0) return stmt_tangent_[static_cast<size_t>(id)];
    const auto k = static_cast<size_t>(-id - 1);               // the sink's, at 0, stays 0
    return k < leaf_tangent_.size() ? leaf_tangent_[k] : 0.0;  // leaves' set by set_tangent, else 0
  }
  void sweep(size_t first_entry);  ///< entries [first_entry, n_entries_), from the last
  void sweep_checked(size_t first_entry);
  void name_slot(int32_t slot, const char* name, const char* nonfinite_op);
  void check_ids() const;

  Generation generation_;
  Generation first_generation_;
  Tape* outer_;

  void reset_adjoints();                                        ///< sized for the current recording, zeroed
  double* adjoints() { return adj_.data() + 1 + adj_leaves_; }  // id 0 = first statement

  /// The hot path reads raw pointers and 64-bit counts: stores through the int32 index array then
  /// cannot alias the counters, so they stay in registers.
  std::vector<double> partial_;
  std::vector<int32_t> index_;
  double* partial_ptr_ = nullptr;
  int32_t* index_ptr_ = nullptr;
  size_t capacity_ = 0;
  size_t n_entries_ = 0;
  int64_t n_stmts_ = 0;
  int64_t n_leaves_ = 1;     ///< leaf ids start at -2: id -1 is the sink of constant operands
  std::vector<double> adj_;  ///< [pad | leaves reversed | statements], sized at backward
  int64_t adj_leaves_ = 0;   ///< the recording adj_ was sized for
  int64_t adj_stmts_ = 0;
  std::vector<double> retained_;          ///< earlier gradients while a retained recording is swept again
  std::vector<double> product_tangents_;  ///< jacobian_product's k tangents per value
  bool scalar_backward_done_ = false;     ///< swept without retain_graph: only what came after may be swept
  size_t swept_entries_ = 0;              ///< the recording at the last sweep
  int64_t swept_stmts_ = 0;
  bool scalar_has_adjoints_ = false;
  std::vector<const char*> names_;  ///< per slot, only filled in anomaly mode

  Tangents tangents_ = Tangents::none;
  std::vector<double> partial_tangent_;  ///< second_order: each entry's partial's tangent
  std::vector<double> leaf_tangent_;     ///< id -1 - k at k: the sink (always 0), then the leaves
  std::vector<double> stmt_tangent_;     ///< per statement
  std::vector<double> adj_tangent_;      ///< the adjoints' tangents, laid out as adj_

  std::unique_ptr<detail::TensorSection> tensors_;
};

}  // namespace tapegrad
