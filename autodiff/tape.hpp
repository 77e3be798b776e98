#pragma once
// Tape: an append-only linear record in creation order (a topological order by construction),
// replayed backwards in one loop. Constructing a Tape makes it this thread's active tape; tapes
// nest like a stack (an inner problem inside an outer one). clear() keeps capacity, so a reused tape
// allocates nothing.
//
// Scalar section (Adept layout, 12 bytes per operand): entry e holds the local partial
// partial_[e] and the operand slot index_[e]; bit 31 of index_ marks the first operand of its
// statement. Statement s writes slot s, so the sweep is
//   adj[index[e]] += partial[e] * adj[out];   out -= first(e);
// A leaf is a statement with one entry pointing at slot 0, a sink nobody reads.
//
// Every handle carries the generation it was recorded under. Generations come from one global
// counter, so a handle from a cleared tape or from another tape is detected, and explained.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "autodiff/grad_mode.hpp"

namespace tapegrad {

class Var;
namespace detail {
class TensorSection;
}

struct BackwardOptions {
  /// Allow a later backward() on the same recording; gradients then accumulate.
  bool retain_graph = false;
};

class Tape {
 public:
  Tape();
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// The thread's innermost tape; TapeError if there is none.
  static Tape& active();

  /// Forgets every recorded op (O(1), capacity kept). Handles recorded before become stale.
  void clear();

  uint32_t generation() const { return generation_; }
  /// Statements (scalar slots) recorded since the last clear, leaves included.
  size_t scalar_statements() const { return n_slots_ - 1; }
  /// Scalar operand entries recorded since the last clear.
  size_t scalar_entries() const { return n_entries_; }
  /// Bytes of scalar tape in use: 12 per operand entry (adjoints are allocated at backward).
  size_t scalar_bytes() const { return n_entries_ * (sizeof(double) + sizeof(uint32_t)); }

  /// d outputs / d inputs, row-major [outputs x inputs], replaying this recording once per output.
  std::vector<double> jacobian(std::span<const Var> outputs, std::span<const Var> inputs);

  detail::TensorSection& tensors() { return *tensors_; }

  // ---- used by Var; not part of the user API ----
  static constexpr uint32_t kFirst = 0x80000000u;
  static constexpr uint32_t kSlotMask = 0x7fffffffu;
  struct Pusher;
  template <class E>
  void record(const E& expr, Var& out);
  void record_leaf(Var& out);
  void backward(const Var& root, BackwardOptions options);
  double grad(const Var& v) const;
  /// Throws TapeError explaining why a handle of generation `gen` does not belong here.
  [[noreturn]] void throw_foreign(const char* what, uint32_t gen) const;
  bool owns(uint32_t gen) const { return gen == generation_; }

 private:
  void grow(size_t needed);
  void sweep(size_t root_slot);
  void sweep_checked();
  void name_slot(uint32_t slot, const char* name, const char* nonfinite_op);

  uint32_t generation_;
  uint32_t first_generation_;
  Tape* outer_;

  std::vector<double> partial_;
  std::vector<uint32_t> index_;
  size_t n_entries_ = 0;
  uint32_t n_slots_ = 1;  // slot 0 is the leaves' sink
  std::vector<double> adj_;
  std::vector<double> retained_;  // earlier gradients while a retained recording is swept again
  bool scalar_backward_done_ = false;
  bool scalar_has_adjoints_ = false;
  std::vector<const char*> names_;  // per slot, only filled in anomaly mode

  std::unique_ptr<detail::TensorSection> tensors_;
};

}  // namespace tapegrad
