#pragma once
// The tensor section of a Tape: a slot table {value, grad} (values drawn from a buffer pool the
// tape owns, or pointing into leaves), and nodes {out slot, input slots, backward closure} in
// creation order. Backward closures live in the tape's arena and capture only slot-free data
// (scalars, arena pointers), so clear() runs no destructors and keeps every buffer.
//
// How an op is written (forward and backward side by side, see ops/*.cpp and
// examples/custom_op.cpp; OpRecord is the public way to add an op):
//   OpRecord op("exp", {&x});
//   Array& y = op.output(x.shape(), x.dtype());   ... compute y ...
//   return op.finish([](BackwardContext& c) { ... c.accumulate(0, dx) ... });
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

/// What a backward closure sees: its node's inputs, output and output gradient.
class BackwardContext {
 public:
  BackwardContext(detail::TensorSection& section, const detail::Node& node) : s_(section), n_(node) {}
  size_t num_inputs() const;
  const Array& input(size_t i) const;
  const Array& output() const;
  /// dL/d(output): zeros when only the second output's gradient flowed here.
  const Array& grad_output() const;
  /// An op with a second output (OpRecord::second_output): its value, and its gradient (zeros
  /// if none flowed), which the closure adds the output's share to before passing both on.
  const Array& second_output() const;
  Array& grad_second_output();
  /// Whether input i wants a gradient (skip the work otherwise).
  bool needs_grad(size_t i) const;
  /// Input i's gradient buffer (its shape, zero on first use), to accumulate into directly.
  Array& grad_input(size_t i);
  /// Input i's value and its gradient buffer, or null when it wants none: input(i), needs_grad(i)
  /// and grad_input(i) in one lookup, for ops that loop over many inputs.
  struct InputAndGrad {
    const Array& value;
    Array* grad;
  };
  InputAndGrad input_and_grad(size_t i);
  /// Adds g into input i's gradient; g may have the output's (broadcast) shape: it is summed down
  /// to the input's shape here, the one place un-broadcasting happens.
  void accumulate(size_t i, const Array& g);
  /// A pooled buffer (contents unspecified) for building a gradient.
  Array& scratch(const Shape& shape, DType dtype);

 private:
  uint32_t slot_of(size_t i) const;
  detail::TensorSection& s_;
  const detail::Node& n_;
};

namespace detail {

using BackwardFn = void (*)(const void* closure, BackwardContext& ctx);

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
      if (leaf->thread.load(std::memory_order_relaxed) == this_thread_token() && leaf->gen == tape_.generation())
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
  /// Copies data into the arena (for index lists a backward closure needs).
  template <class T>
  const T* stash(std::span<const T> data) {
    static_assert(std::is_trivially_copyable_v<T>);
    T* p = static_cast<T*>(arena_.allocate(sizeof(T) * std::max<size_t>(data.size(), 1), alignof(T)));
    std::copy(data.begin(), data.end(), p);
    return p;
  }

  void backward(uint32_t root, const Array* seed, const BackwardOptions& options);
  std::vector<const char*> op_names() const;

  std::vector<uint32_t> inputs_;  // input slot entries of all nodes (kNoGrad flag in bit 31)

 private:
  Tape& tape_;
  std::vector<Slot> slots_;
  std::vector<std::shared_ptr<LeafData>> leaves_;       // leaves recorded since clear(), kept alive
  uint32_t resolve(const Tensor& t, const char* what);  // slot_of's slow path: a new leaf, or an error
  void claim(LeafData& leaf, const char* what);         // this thread's, or TapeError
  Array& first_grad(uint32_t slot);
  void release_leaves();  // the recording ends: other threads may record them
  std::vector<Node> nodes_;
  // Buffers in chunks of headers side by side (ops read their inputs' headers: fewer cache lines),
  // at stable addresses.
  static constexpr size_t kPoolChunk = 256;
  std::vector<std::unique_ptr<Array[]>> pool_;
  size_t pool_chunks_used_ = 0;  // pool_[0, pool_chunks_used_) handed out since clear()
  Array* pool_next_ = nullptr;   // the next free buffer of the last chunk handed out, and its end
  Array* pool_end_ = nullptr;
  void next_pool_chunk();  // moves to the next chunk, made on first use
  Arena arena_;
  // on_grad_ready: (node, leaf slot) pairs, a leaf listed at the first node that reads it
  std::vector<std::pair<uint32_t, uint32_t>> grad_ready_;
  void list_grad_ready(size_t first_node);
  bool reaches_swept_part(uint32_t root);
  std::vector<bool> marked_;    // per slot: scratch of the two passes above
  bool backward_done_ = false;  // swept without retain_graph: only what came after may be swept
  size_t swept_nodes_ = 0;      // the recording at the last sweep
  size_t swept_slots_ = 0;
  bool swept_ = false;
};

}  // namespace detail

/// One op being recorded: resolves its inputs on the active tape, gives it an output buffer, and
/// records its backward closure when some input needs a gradient and grad mode is on.
class OpRecord {
 public:
  OpRecord(const char* name, std::initializer_list<const Tensor*> inputs);
  OpRecord(const char* name, std::span<const Tensor> inputs);
  OpRecord(const char* name, std::span<const Tensor* const> inputs);
  /// n inputs, input(i) giving the i-th (const Tensor&): for ops whose inputs are not in one
  /// container (a neuron reading its sources out of a model's table), with no list built per op.
  template <class Input>
  requires std::is_invocable_r_v<const Tensor&, Input, size_t> OpRecord(const char* name, size_t n, Input input)
      : name_(name), s_(Tape::active().tensors()), begin_(static_cast<uint32_t>(s_.inputs_.size())) {
    add_inputs(n, input);
  }
  const Array& in(size_t i) const;
  Array& output(const Shape& shape, DType dtype);
  /// A second output computed on the way (a neuron's psi beside its activation): a tensor of its
  /// own (second() after finish), differentiable like the first. The backward closure runs when
  /// either output has a gradient; it reads both (BackwardContext::grad_second_output).
  Array& second_output(const Shape& shape, DType dtype);
  detail::TensorSection& section() { return s_; }

  template <class F>
  Tensor finish(F&& backward) {
    const bool record = any_needs_grad_ && is_grad_enabled();
    const uint32_t out = finish_slot(record);
    if (record) s_.add_node(name_, out, second_slot_, begin_, std::forward<F>(backward));
    return s_.handle(out);
  }
  /// After finish: the second output.
  Tensor second() const {
    if (second_slot_ == detail::kNoSlot)
      raise<ValueError>("{}: second() before finish, or on an op without second_output()", name_);
    return s_.handle(second_slot_);
  }
  /// For ops without a gradient (comparisons): records the value only.
  Tensor finish_constant() { return s_.handle(finish_slot(false)); }

 private:
  template <class Input>
  void add_inputs(size_t n, Input input);  // input(i): the i-th input Tensor
  uint32_t finish_slot(bool record);
  const char* name_;
  detail::TensorSection& s_;
  uint32_t begin_;
  Array* out_ = nullptr;
  Array* second_ = nullptr;
  uint32_t second_slot_ = detail::kNoSlot;
  bool any_needs_grad_ = false;
};

template <class Input>
inline void OpRecord::add_inputs(size_t n, Input input) {
  // One growth check for the op, entries written in place; any error takes them back out.
  std::vector<uint32_t>& entries = s_.inputs_;
  entries.resize(begin_ + n);
  uint32_t* entry = entries.data() + begin_;
  bool any_needs_grad = false;
  DType dtype = DType::f64;  // the first input's
  try {
    for (size_t i = 0; i < n; ++i) {
      const Tensor& t = input(i);
      const uint32_t slot = s_.slot_of(t, name_);
      const detail::Slot& s = s_.slot(slot);
      if (i == 0) dtype = s.dtype;
      if (s.dtype != dtype)
        raise<ValueError>("{}: operands have different dtypes, got {} and {}; convert one with to_dtype()", name_,
                          dtype_name(dtype), dtype_name(s.dtype));
      const bool needs = s.requires_grad && !t.stop_grad_;
      any_needs_grad = any_needs_grad || needs;
      entry[i] = slot | (needs ? 0u : detail::TensorSection::kNoGrad);
    }
  } catch (...) {
    entries.resize(begin_);
    throw;
  }
  any_needs_grad_ = any_needs_grad;
}

// ---- the accessors ops call per input, inline: they sit on every op's path ----

inline uint32_t BackwardContext::slot_of(size_t i) const {
  return s_.inputs_[n_.inputs_begin + i] & ~detail::TensorSection::kNoGrad;
}
inline size_t BackwardContext::num_inputs() const { return n_.inputs_end - n_.inputs_begin; }
inline const Array& BackwardContext::input(size_t i) const { return *s_.slot(slot_of(i)).value; }
inline const Array& BackwardContext::output() const { return *s_.slot(n_.out).value; }
inline const Array& BackwardContext::grad_output() const { return s_.grad_of(n_.out); }
inline const Array& BackwardContext::second_output() const {
  TAPEGRAD_ASSERT(n_.second_out != detail::kNoSlot);  // the op made one (OpRecord::second_output)
  return *s_.slot(n_.second_out).value;
}
inline Array& BackwardContext::grad_second_output() {
  TAPEGRAD_ASSERT(n_.second_out != detail::kNoSlot);
  return s_.grad_of(n_.second_out);
}
inline bool BackwardContext::needs_grad(size_t i) const {
  const uint32_t entry = s_.inputs_[n_.inputs_begin + i];
  return !(entry & detail::TensorSection::kNoGrad) && s_.slot(slot_of(i)).requires_grad;
}
inline Array& BackwardContext::grad_input(size_t i) { return s_.grad_of(slot_of(i)); }
inline BackwardContext::InputAndGrad BackwardContext::input_and_grad(size_t i) {
  const uint32_t entry = s_.inputs_[n_.inputs_begin + i];
  const uint32_t slot = entry & ~detail::TensorSection::kNoGrad;
  const detail::Slot& s = s_.slot(slot);
  const bool needs = !(entry & detail::TensorSection::kNoGrad) && s.requires_grad;
  return {*s.value, needs ? &s_.grad_of(slot) : nullptr};
}
inline const Array& OpRecord::in(size_t i) const {
  return *s_.slot(s_.inputs_[begin_ + i] & ~detail::TensorSection::kNoGrad).value;
}

}  // namespace tapegrad
