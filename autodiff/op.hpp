#pragma once
/// \file
/// Writing an op: the public API every op of tapegrad is written with (autodiff/ops/*.cpp, nn/'s
/// fused ops) and yours can be too. Forward and backward sit side by side:
///
///   Tensor scaled_exp(const Tensor& x, double c) {          // y = exp(c x)
///     OpRecord record("scaled_exp", {&x});
///     const Array& xv = record.in(0);
///     Array& y = record.output(xv.shape(), xv.dtype());
///     ... y = exp(c x) ...
///     return record.finish([c](BackwardContext& ctx) {           // dL/dx = c y dL/dy
///       ... ctx.accumulate(0, c * ctx.output() * ctx.grad_output()) ...
///     });
///   }
///
/// The closure captures only trivially destructible data (scalars, pointers to buffers from
/// save_for_backward): it lives in the tape's arena, and clear() runs no destructors.
/// docs/writing-ops.md walks through a whole op; examples/custom_op.cpp is one that compiles.
#include <cstdint>
#include <initializer_list>
#include <span>
#include <type_traits>

#include "autodiff/detail/tensor_section.hpp"
#include "autodiff/error.hpp"
#include "autodiff/grad_mode.hpp"
#include "autodiff/ops/elementwise.hpp"  // tangent rules are written with tensor ops
#include "autodiff/tensor.hpp"

namespace tapegrad {

/// What a backward closure sees: its node's inputs, output and output gradient.
class BackwardContext {
 public:
  /// Made by the tape when it runs a node's backward closure; user code receives one, it does not build one.
  BackwardContext(detail::TensorSection& section, const detail::Node& node) : s_(section), n_(node) {}
  /// Number of inputs the op was recorded with.
  size_t num_inputs() const;
  /// Input i's value as recorded.
  const Array& input(size_t i) const;
  /// The op's output value.
  const Array& output() const;
  /// dL/d(output): zeros when only the second output's gradient flowed here.
  const Array& grad_output() const;
  /// An op with a second output (OpRecord::second_output): its value, and its gradient (zeros
  /// if none flowed), which the closure adds the output's share to before passing both on.
  const Array& second_output() const;
  /// The second output's gradient buffer, to read and add into (see second_output()).
  Array& grad_second_output();
  /// Whether input i wants a gradient (skip the work otherwise).
  bool needs_grad(size_t i) const;
  /// Input i's gradient buffer (its shape, zero on first use), to accumulate into directly.
  Array& grad_input(size_t i);
  /// Input i's gradient buffer for an op whose contribution covers every element: `fresh` when
  /// nothing has accumulated into it yet, and then it is not zeroed (contents unspecified): the op
  /// assigns (g = v) where it would otherwise add (g += v), saving a pass that zeroes the buffer
  /// and a read of it. An op that writes only some elements uses grad_input.
  struct GradToWrite {
    Array& grad;  ///< Input i's gradient buffer.
    bool fresh;   ///< Assign every element, don't add.
  };
  /// See GradToWrite.
  GradToWrite grad_input_to_write(size_t i);
  /// The second output's gradient buffer for a closure that writes every element of it (see
  /// GradToWrite): fresh when nothing flowed to the second output directly.
  GradToWrite grad_second_output_to_write();
  /// Input i's value and its gradient buffer, or null when it wants none: input(i), needs_grad(i)
  /// and grad_input(i) in one lookup, for ops that loop over many inputs.
  struct InputAndGrad {
    /// Input i's value.
    const Array& value;
    Array* grad;  ///< Input i's gradient buffer, or nullptr when it needs none.
  };
  /// input(i), needs_grad(i) and grad_input(i) in one lookup.
  InputAndGrad input_and_grad(size_t i) {
    const InputAndGradToWrite in = input_and_grad(i, false);
    return {in.value, in.grad};
  }
  /// InputAndGrad with GradToWrite's flag.
  struct InputAndGradToWrite {
    /// Input i's value.
    const Array& value;
    Array* grad;  ///< Input i's gradient buffer, or nullptr when it needs none.
    bool fresh;   ///< Nothing accumulated into grad yet: assign every element, don't add.
  };
  /// input(i), needs_grad(i) and grad_input_to_write(i) in one lookup.
  InputAndGradToWrite input_and_grad_to_write(size_t i) { return input_and_grad(i, true); }
  /// Adds g into input i's gradient; g may have the output's (broadcast) shape: it is summed down
  /// to the input's shape here, the one place un-broadcasting happens.
  void accumulate(size_t i, const Array& g);
  /// A pooled buffer (contents unspecified) for building a gradient.
  Array& scratch(const Shape& shape, DType dtype);

 private:
  uint32_t slot_of(size_t i) const;
  InputAndGradToWrite input_and_grad(size_t i, bool to_write);
  detail::TensorSection& s_;
  const detail::Node& n_;
};

/// What a tangent rule sees (forward mode, autodiff/higher_order.hpp): its op's inputs and output as
/// tensors, and the inputs' tangents. The rule returns the output's tangent, J t, computed with
/// tensor ops: they are recorded like any other (tangents paused meanwhile), so a reverse sweep
/// through them differentiates the tangent, which is how hvp gets H v.
class TangentContext {
 public:
  /// Made by OpRecord::finish when some input has a tangent.
  TangentContext(detail::TensorSection& section, uint32_t begin, uint32_t count, Tensor output, uint32_t second)
      : s_(section), begin_(begin), count_(count), output_(std::move(output)), second_(second) {}
  /// Number of inputs the op was recorded with.
  size_t num_inputs() const { return count_; }
  /// Input i as recorded (detached if it was).
  Tensor input(size_t i) const;
  /// Whether input i has a tangent (false for a detached input: it is a constant at every order).
  bool has_tangent(size_t i) const { return entry(i).tangent != detail::kNoSlot; }
  /// Input i's tangent (of its shape); undefined when it has none.
  Tensor tangent(size_t i) const;
  /// The op's output.
  const Tensor& output() const { return output_; }
  /// An op with a second output (OpRecord::second_output) sets its tangent here, beside returning
  /// the first output's.
  void set_second_output_tangent(const Tensor& t);
  /// The tangent of composite(), an expression of the inputs (input(i)) evaluated with tangents
  /// flowing: the rule of a fused op whose tangent is simplest as its composite definition's
  /// (batch norm, a loss), at the cost of one more forward of that composite. Undefined if zero.
  template <class Composite>
  Tensor tangent_of(Composite composite) {
    const detail::FlagScope flowing(s_.in_tangent_rule_, false);
    const Tensor y = composite();
    const uint32_t t = s_.tangent_of(s_.slot_of(y, "tangent_of"));
    return t == detail::kNoSlot ? Tensor() : s_.handle(t);
  }
  /// The sum over the inputs that have a tangent of term(i, tangent(i)) (undefined if none has):
  /// the rule of an op whose tangent is a sum of one term per input, J t = sum_i J_i t_i.
  template <class Term>
  Tensor sum(Term term) const {
    Tensor total;
    for (size_t i = 0; i < count_; ++i) {
      if (!has_tangent(i)) continue;
      Tensor t = term(i, tangent(i));
      total = total.defined() ? total + t : t;
    }
    return total;
  }

 private:
  const detail::TangentInput& entry(size_t i) const { return s_.tangent_inputs_[begin_ + i]; }
  detail::TensorSection& s_;
  uint32_t begin_;
  uint32_t count_;
  Tensor output_;
  uint32_t second_;
};

/// One op being recorded: resolves its inputs on the active tape, gives it an output buffer, and
/// records its backward closure when some input needs a gradient and grad mode is on.
class OpRecord {
 public:
  /// Starts recording op `name` (a string literal: kept by pointer) over the given inputs, which must
  /// be defined tensors on the active tape or leaves (TapeError otherwise).
  OpRecord(const char* name, std::initializer_list<const Tensor*> inputs);
  /// The same, inputs in a span (variadic ops: concat, stack).
  OpRecord(const char* name, std::span<const Tensor> inputs);
  /// The same, inputs given by pointer.
  OpRecord(const char* name, std::span<const Tensor* const> inputs);
  /// n inputs, input(i) giving the i-th (const Tensor&): for ops whose inputs are not in one
  /// container (a neuron reading its sources out of a model's table), with no list built per op.
  template <class Input>
  requires std::is_invocable_r_v<const Tensor&, Input, size_t> OpRecord(const char* name, size_t n, Input input)
      : name_(name), s_(Tape::active().tensors()), begin_(static_cast<uint32_t>(s_.inputs_.size())) {
    add_inputs(n, input);
  }
  /// Input i's value.
  const Array& in(size_t i) const;
  /// The output buffer of the given shape and dtype (contents unspecified: the forward writes every
  /// element). Call once, before finish().
  Array& output(const Shape& shape, DType dtype);
  /// A second output computed on the way (a neuron's psi beside its activation): a tensor of its
  /// own (second() after finish), differentiable like the first. The backward closure runs when
  /// either output has a gradient; it reads both (BackwardContext::grad_second_output).
  Array& second_output(const Shape& shape, DType dtype);
  /// A buffer for data the backward pass reads (softmax's probabilities, a dropout mask), alive
  /// until the tape is cleared: fill it here and capture its address in the closure. Contents
  /// unspecified; pooled, so a warm step allocates nothing.
  Array& save_for_backward(const Shape& shape, DType dtype) { return s_.take(shape, dtype); }
  /// A copy of `data` (an index list, per-row constants) alive until the tape is cleared.
  template <class T>
  const T* save_for_backward(std::span<const T> data) {
    return s_.stash(data);
  }
  /// Room for n trivially copyable T alive until the tape is cleared, contents unspecified: for
  /// what a forward closure refills on replay (a caller's index list).
  template <class T>
  T* save_for_backward(size_t n) {
    return s_.stash<T>(n);
  }

  /// The op's forward computation as a closure taking no arguments: run here, once, and kept so
  /// Tape::replay can run it again on its inputs' new values, into the same buffers. It captures
  /// the op's buffers by reference (in(i), output(), buffers from save_for_backward: their addresses
  /// are stable until the tape is cleared) and scalars by value, and computes everything a backward
  /// closure reads that depends on values (saved buffers, an index list copied from a caller's
  /// buffer). It records no ops. An op without one still records and sweeps, but replay() refuses
  /// the recording, naming it.
  template <class F>
  void forward(F&& compute) {
    compute();
    s_.add_forward(std::forward<F>(compute));
    has_forward_ = true;
  }

  /// Ends the op: returns its output tensor and records `backward`, a callable taking
  /// (BackwardContext&), when an input needs a gradient and grad mode is on (otherwise it is dropped
  /// unrun). The closure is stored on the tape: capture buffers and sizes by value. An op ended this
  /// way has no tangent rule: forward mode through it (jvp, hvp) raises TapeError.
  template <class F>
  Tensor finish(F&& backward) {
    if (any_tangent_) [[unlikely]]
      throw_no_tangent_rule();
    return finish_recording(std::forward<F>(backward));
  }
  /// The same, with the op's tangent rule: a callable taking (TangentContext&) and returning the
  /// output's tangent as a Tensor computed with tensor ops (or an undefined Tensor for zero). It runs
  /// here, only when some input has a tangent; nothing of it is stored.
  template <class F, class G>
  Tensor finish(F&& backward, G&& tangent) {
    Tensor y = finish_recording(std::forward<F>(backward));
    if (any_tangent_) [[unlikely]]
      finish_tangent(y, tangent);
    return y;
  }
  /// After finish: the second output.
  Tensor second() const {
    if (second_slot_ == detail::kNoSlot)
      raise<ValueError>("{}: second() before finish, or on an op without second_output()", name_);
    return s_.handle(second_slot_);
  }
  /// For ops without a gradient (comparisons): records the value only (its tangent is zero).
  Tensor finish_constant() {
    if (any_tangent_) s_.tangent_inputs_.resize(tangent_begin_);
    return s_.handle(finish_slot(false));
  }

 private:
  template <class F>
  Tensor finish_recording(F&& backward) {
    const bool record = any_needs_grad_ && is_grad_enabled();
    const uint32_t out = finish_slot(record);
    if (record) s_.add_node(name_, out, second_slot_, begin_, std::forward<F>(backward));
    return s_.handle(out);
  }
  template <class G>
  void finish_tangent(const Tensor& y, G& rule) {
    Tensor t;
    {
      const detail::FlagScope paused(s_.in_tangent_rule_, true);  // the rule's own ops carry no tangents
      TangentContext ctx(s_, tangent_begin_, tangent_count_, y, second_slot_);
      t = rule(static_cast<TangentContext&>(ctx));
      if (t.defined()) t = fit_tangent(t, y);
    }
    // This op's entries were read by the rule only. (After a throw they stay, unread, until clear():
    // every op reads its own from the index it noted.)
    s_.tangent_inputs_.resize(tangent_begin_);
    if (t.defined()) s_.set_tangent(s_.slot_of(y, name_), s_.slot_of(t, name_));
  }
  /// The rule's result checked against the output (dtype, shape), broadcast to its shape if needed.
  Tensor fit_tangent(const Tensor& t, const Tensor& y) const;
  [[noreturn]] void throw_no_tangent_rule();
  template <class Input>
  void note_tangents(size_t n, Input input);
  uint32_t tangent_begin_ = 0;
  uint32_t tangent_count_ = 0;
  bool any_tangent_ = false;

  template <class Input>
  void add_inputs(size_t n, Input input);  ///< input(i): the i-th input Tensor
  uint32_t finish_slot(bool record);
  const char* name_;
  detail::TensorSection& s_;
  uint32_t begin_;
  Array* out_ = nullptr;
  Array* second_ = nullptr;
  uint32_t second_slot_ = detail::kNoSlot;
  bool any_needs_grad_ = false;
  bool has_forward_ = false;
};

template <class Input>
inline void OpRecord::add_inputs(size_t n, Input input) {
  if (s_.replaying_) [[unlikely]]
    s_.throw_recorded_in_replay(name_);
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
  if (s_.tangents_on()) [[unlikely]]
    note_tangents(n, input);
}

template <class Input>
inline void OpRecord::note_tangents(size_t n, Input input) {
  tangent_begin_ = static_cast<uint32_t>(s_.tangent_inputs_.size());
  tangent_count_ = static_cast<uint32_t>(n);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t slot = s_.inputs_[begin_ + i] & ~detail::TensorSection::kNoGrad;
    const bool detached = input(i).stop_grad_;
    const uint32_t tangent = detached ? detail::kNoSlot : s_.tangent_of(slot);
    any_tangent_ = any_tangent_ || tangent != detail::kNoSlot;
    s_.tangent_inputs_.push_back({slot, tangent, detached});
  }
  if (!any_tangent_) s_.tangent_inputs_.resize(tangent_begin_);
}

inline Tensor TangentContext::input(size_t i) const {
  const Tensor t = s_.handle(entry(i).slot);
  return entry(i).detached ? t.detach() : t;
}
inline Tensor TangentContext::tangent(size_t i) const {
  return has_tangent(i) ? s_.handle(entry(i).tangent) : Tensor();
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
inline BackwardContext::GradToWrite BackwardContext::grad_input_to_write(size_t i) {
  bool fresh = false;
  Array& grad = s_.grad_to_write(slot_of(i), fresh);
  return {grad, fresh};
}
inline BackwardContext::GradToWrite BackwardContext::grad_second_output_to_write() {
  TAPEGRAD_ASSERT(n_.second_out != detail::kNoSlot);
  bool fresh = false;
  Array& grad = s_.grad_to_write(n_.second_out, fresh);
  return {grad, fresh};
}
inline BackwardContext::InputAndGradToWrite BackwardContext::input_and_grad(size_t i, bool to_write) {
  const uint32_t entry = s_.inputs_[n_.inputs_begin + i];
  const uint32_t slot = entry & ~detail::TensorSection::kNoGrad;
  const detail::Slot& s = s_.slot(slot);
  if ((entry & detail::TensorSection::kNoGrad) || !s.requires_grad) return {*s.value, nullptr, false};
  bool fresh = false;
  Array& grad = to_write ? s_.grad_to_write(slot, fresh) : s_.grad_of(slot);
  return {*s.value, &grad, fresh};
}
inline const Array& OpRecord::in(size_t i) const {
  return *s_.slot(s_.inputs_[begin_ + i] & ~detail::TensorSection::kNoGrad).value;
}

}  // namespace tapegrad
