#pragma once
// The tensor section of a Tape: a slot table {value, grad} (values drawn from a buffer pool the
// tape owns, or pointing into leaves), and nodes {out slot, input slots, backward closure} in
// creation order. Backward closures live in the tape's arena and capture only slot-free data
// (scalars, arena pointers), so clear() runs no destructors and keeps every buffer.
// Internal: ops are written against autodiff/op.hpp (OpRecord, BackwardContext), never this.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "autodiff/detail/arena.hpp"
#include "autodiff/error.hpp"
#include "autodiff/tensor.hpp"

namespace tapegrad {

namespace detail {
struct Slot {
  Array* value;
  Array* grad;     // null until something accumulates into it
  LeafData* leaf;  // non-null for leaves
  bool requires_grad;
  DType dtype;  // value's, kept here: recording an op checks its inputs' dtypes without touching them
};
struct Node;
}  // namespace detail

class BackwardContext;

namespace detail {

using BackwardFn = void (*)(const void* closure, BackwardContext& ctx);
/// An op's forward computation, kept so Tape::replay can run it again on its inputs' new values.
using ForwardFn = void (*)(const void* closure);

/// Sets a flag for its lifetime, then puts back what it found (a throw included).
class FlagScope {
 public:
  FlagScope(bool& flag, bool value) : flag_(flag), saved_(flag) { flag_ = value; }
  ~FlagScope() { flag_ = saved_; }
  FlagScope(const FlagScope&) = delete;
  FlagScope& operator=(const FlagScope&) = delete;

 private:
  bool& flag_;
  bool saved_;
};

/// An input of an op being recorded while tangents flow (forward mode): its slot, its tangent's
/// slot (kNoSlot: none, or the input was detached) and whether it was detached.
struct TangentInput {
  uint32_t slot;
  uint32_t tangent;
  bool detached;
};

inline constexpr uint32_t kNoSlot = 0xffffffffu;

/// This thread's token (the address of a thread_local): which thread's recordings hold a leaf.
inline uintptr_t this_thread_token() {
  thread_local char token;
  return reinterpret_cast<uintptr_t>(&token);
}

struct Node {
  const char* name;
  uint32_t out;
  uint32_t second_out;  // kNoSlot, or an op's second output (swept with this node)
  uint32_t inputs_begin;
  uint32_t inputs_end;
  BackwardFn backward;
  const void* closure;
};

/// The one error of a second sweep without retain_graph (scalar and tensor recordings alike).
[[noreturn]] void throw_already_swept();

class TensorSection {
 public:
  static constexpr uint32_t kNoGrad = 0x80000000u;  // flag on an input entry: stop-gradient

  explicit TensorSection(Tape& tape) : tape_(tape) {}
  ~TensorSection() { release_leaves(); }
  TensorSection(const TensorSection&) = delete;
  TensorSection& operator=(const TensorSection&) = delete;
  void clear();

  Slot& slot(uint32_t i) { return slots_[i]; }
  const Slot& slot(uint32_t i) const { return slots_[i]; }
  /// The slot of t on this tape (registering a leaf on first use); TapeError if t is stale/foreign.
  uint32_t slot_of(const Tensor& t, const char* what) {
    if (const LeafData* leaf = t.leaf_.get()) {
      // A leaf this recording holds already: this thread holds it, so no other writes gen or slot.
      // (Its dtype unchanged since: Module::to between two ops that read it is refused in resolve.)
      if (leaf->thread.load(std::memory_order_relaxed) == this_thread_token() && leaf->gen == tape_.generation() &&
          leaf->value.dtype() == slots_[leaf->slot].dtype) [[likely]]
        return leaf->slot;
    } else if (t.tape_ == &tape_ && tape_.owns(t.gen_)) {
      return t.slot_;  // a result of this recording
    }
    return resolve(t, what);
  }
  /// A pooled buffer; contents unspecified. Inline: ops take one or more each.
  Array& take(const Shape& shape, DType dtype) {
    if (pool_next_ == pool_end_) [[unlikely]]
      next_pool_chunk();
    Array& a = *pool_next_++;
    a.resize(shape, dtype);
    return a;
  }
  uint32_t add_slot(Array& value, bool requires_grad);
  /// The slot's gradient buffer (made, zero, on first use).
  Array& grad_of(uint32_t slot) {
    Array* g = slots_[slot].grad;
    return g ? *g : first_grad(slot);
  }
  /// The slot's gradient buffer for a caller that writes every element; `fresh` when nothing has
  /// accumulated into it yet: then it is not zeroed (contents unspecified) and the caller assigns.
  Array& grad_to_write(uint32_t slot, bool& fresh) {
    Array* g = slots_[slot].grad;
    fresh = !g && make_grad(slot, false);
    return g ? *g : *slots_[slot].grad;
  }
  Tensor handle(uint32_t slot) { return Tensor(&tape_, slot, tape_.generation()); }

  template <class F>
  void add_node(const char* name, uint32_t out, uint32_t second_out, uint32_t begin, F&& backward) {
    using Fn = std::decay_t<F>;
    static_assert(std::is_trivially_destructible_v<Fn>,
                  "backward closures capture only trivially destructible data (no owning objects)");
    void* mem = arena_.allocate(sizeof(Fn), alignof(Fn));
    const Fn* closure = new (mem) Fn(std::forward<F>(backward));
    nodes_.push_back(Node{name, out, second_out, begin, static_cast<uint32_t>(inputs_.size()),
                          [](const void* c, BackwardContext& ctx) { (*static_cast<const Fn*>(c))(ctx); }, closure});
  }
  /// Stores an op's forward closure (run again, in recording order, by replay()).
  template <class F>
  void add_forward(F&& forward) {
    using Fn = std::decay_t<F>;
    static_assert(std::is_trivially_destructible_v<Fn>,
                  "forward closures capture only trivially destructible data (references to the op's buffers)");
    void* mem = arena_.allocate(sizeof(Fn), alignof(Fn));
    const Fn* closure = new (mem) Fn(std::forward<F>(forward));
    forwards_.push_back({[](const void* c) { (*static_cast<const Fn*>(c))(); }, closure});
  }
  /// An op ends: `replayable` when it stored its forward closure (add_forward).
  void note_op(const char* name, bool replayable) {
    if (!replayable && !not_replayable_) not_replayable_ = name;
    if (pending_read_ && !value_dependent_) value_dependent_ = pending_read_;
  }
  /// A result's value was read (what: "item()", "value()"): if an op is recorded after it, the
  /// recording may depend on the value, and replay() refuses it.
  void note_value_read(const char* what) {
    if (!pending_read_) pending_read_ = what;
  }
  /// Tape::refuse_replay.
  void refuse_replay(const char* what) {
    if (!refused_by_) refused_by_ = what;
  }
  /// Runs every recorded forward again on the leaves' current values, into the same buffers, and
  /// makes the recording sweepable as if fresh (Tape::replay).
  void replay();
  /// Room for n elements in the arena, contents unspecified.
  template <class T>
  T* stash(size_t n) {
    static_assert(std::is_trivially_copyable_v<T>);
    return static_cast<T*>(arena_.allocate(sizeof(T) * std::max<size_t>(n, 1), alignof(T)));
  }
  /// Copies data into the arena (for index lists a backward closure needs).
  template <class T>
  const T* stash(std::span<const T> data) {
    T* p = stash<T>(data.size());
    std::copy(data.begin(), data.end(), p);
    return p;
  }

  void backward(uint32_t root, const Array* seed, const BackwardOptions& options);
  std::vector<const char*> op_names() const;

  std::vector<uint32_t> inputs_;  // input slot entries of all nodes (kNoGrad flag in bit 31)

  // ---- forward-mode tangents (autodiff/higher_order.hpp): each slot may have a tangent slot;
  // an op whose inputs have tangents runs its tangent rule, which records ordinary ops (so a
  // reverse sweep through them differentiates the tangents: H v) with tangents paused ----
  bool tangents_on() const { return tangents_ && !in_tangent_rule_; }
  void record_tangents(bool on) { tangents_ = on; }
  uint32_t tangent_of(uint32_t slot) const { return slot < tangent_.size() ? tangent_[slot] : kNoSlot; }
  void set_tangent(uint32_t slot, uint32_t tangent) {
    if (tangent_.size() <= slot) tangent_.resize(slot + 1, kNoSlot);
    tangent_[slot] = tangent;
  }
  std::vector<TangentInput> tangent_inputs_;  // of the ops being recorded (an op inside another's forward nests)
  bool in_tangent_rule_ = false;
  bool recording_differentiated_function_ = false;  // jvp/hvp are running f: a backward() there is refused
  bool replaying_ = false;                          // replay() runs forward closures: recording is refused
  [[noreturn]] void throw_recorded_in_replay(const char* name) const;

 private:
  Tape& tape_;
  std::vector<Slot> slots_;
  std::vector<std::shared_ptr<LeafData>> leaves_;  // leaves recorded since clear(), kept alive
  std::vector<Shape> leaf_shapes_;                 // each one's value shape when it was recorded
  // TapeError unless every leaf still has the shape and dtype it was recorded with: a backward
  // closure reads its inputs' values and sizes them by what it saw at recording.
  void check_leaves_unchanged(const char* what) const;
  [[noreturn]] void throw_leaf_changed(const char* what, size_t leaf) const;  // leaf: index into leaves_
  uint32_t resolve(const Tensor& t, const char* what);  // slot_of's slow path: a new leaf, or an error
  void claim(LeafData& leaf, const char* what);         // this thread's, or TapeError
  Array& first_grad(uint32_t slot);
  /// Gives the slot its gradient buffer: a leaf's own (kept, accumulating, while its shape and
  /// dtype match) or a pooled one; `zero` zeroes a buffer made now. Returns whether one was made.
  bool make_grad(uint32_t slot, bool zero);
  void release_leaves();  // the recording ends: other threads may record them
  std::vector<Node> nodes_;
  struct ForwardStep {
    ForwardFn run;
    const void* closure;
  };
  std::vector<ForwardStep> forwards_;      // every op's forward closure, in recording order
  const char* not_replayable_ = nullptr;   // the first op recorded without one
  const char* pending_read_ = nullptr;     // the first value read of this recording
  const char* value_dependent_ = nullptr;  // that read, once an op was recorded after it
  const char* refused_by_ = nullptr;       // Tape::refuse_replay's first caller
  std::vector<Array*> spare_grads_;        // per slot: a gradient buffer from an earlier sweep, reused
  void spare_grads();                      // moves every result's gradient buffer to spare_grads_, unsets leaves'
  // Buffers in chunks of headers side by side (ops read their inputs' headers: fewer cache lines),
  // at stable addresses.
  static constexpr size_t kPoolChunk = 256;
  std::vector<std::unique_ptr<Array[]>> pool_;
  size_t pool_chunks_used_ = 0;  // pool_[0, pool_chunks_used_) handed out since clear()
  Array* pool_next_ = nullptr;   // the next free buffer of the last chunk handed out, and its end
  Array* pool_end_ = nullptr;
  void next_pool_chunk();  // moves to the next chunk, made on first use
  // Where the last sweep began taking buffers (gradients, backward scratch): a sweep of the same
  // recording (replayed, or retained) with nothing recorded since takes them again from there, so
  // sweeping it any number of times takes no new memory.
  struct SweepStart {
    size_t slots = 0, chunks_used = 0;
    Array* next = nullptr;
    Array* end = nullptr;
    bool set = false;
  } sweep_start_;
  void begin_sweep_buffers();  // rewinds to sweep_start_ where it may, then marks it anew
  Arena arena_;
  // on_grad_ready: (node, leaf slot) pairs, a leaf listed at the first node that reads it
  std::vector<std::pair<uint32_t, uint32_t>> grad_ready_;
  void list_grad_ready(size_t first_node);
  bool reaches_swept_part(uint32_t root);
  bool tangents_ = false;
  std::vector<uint32_t> tangent_;  // per slot: its tangent's slot, or kNoSlot
  std::vector<bool> marked_;       // per slot: scratch of the two passes above
  bool backward_done_ = false;     // swept without retain_graph: only what came after may be swept
  size_t swept_nodes_ = 0;         // the recording at the last sweep
  size_t swept_slots_ = 0;
  bool swept_ = false;
};

}  // namespace detail

}  // namespace tapegrad
