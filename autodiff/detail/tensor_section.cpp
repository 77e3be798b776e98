#include "autodiff/detail/tensor_section.hpp"

#include <cmath>
#include <utility>

#include "autodiff/detail/kernels.hpp"
#include "autodiff/op.hpp"

namespace tapegrad {

namespace detail {

// ---- TensorSection ----

void TensorSection::clear() {
  release_leaves();
  leaf_shapes_.clear();
  slots_.clear();
  nodes_.clear();
  inputs_.clear();
  pool_chunks_used_ = 0;
  pool_next_ = pool_end_ = nullptr;
  arena_.reset();
  backward_done_ = false;
  swept_ = false;
  swept_nodes_ = 0;
  swept_slots_ = 0;
  tangent_.clear();
  tangent_inputs_.clear();
  in_tangent_rule_ = false;
  forwards_.clear();
  not_replayable_ = pending_read_ = value_dependent_ = refused_by_ = nullptr;
  spare_grads_.clear();
  sweep_start_ = {};
}

void TensorSection::begin_sweep_buffers() {
  if (sweep_start_.set && sweep_start_.slots == slots_.size()) {  // nothing recorded since the last sweep began
    pool_chunks_used_ = sweep_start_.chunks_used;
    pool_next_ = sweep_start_.next;
    pool_end_ = sweep_start_.end;
    // Intermediate buffers are taken again, from zero; a leaf's is looked up again (zero_grad()
    // since the last sweep makes its gradient fresh).
    for (Slot& slot : slots_) slot.grad = nullptr;
    spare_grads_.clear();
  } else if (swept_) {
    spare_grads();
  }
  sweep_start_ = {slots_.size(), pool_chunks_used_, pool_next_, pool_end_, true};
}

void TensorSection::spare_grads() {
  spare_grads_.resize(slots_.size(), nullptr);
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (!s.grad) continue;
    if (!s.leaf) spare_grads_[i] = s.grad;
    s.grad = nullptr;
  }
}

void TensorSection::replay() {
  if (not_replayable_)
    raise<TapeError>(
        "replay: op '{}' was recorded without a forward closure (OpRecord::forward), so it cannot run again; "
        "record afresh each step, or give the op one (docs/writing-ops.md)",
        not_replayable_);
  if (refused_by_)
    raise<TapeError>(
        "replay: {} computed from values between ops, which replay cannot do again; record afresh each step",
        refused_by_);
  if (value_dependent_)
    raise<TapeError>(
        "replay: the recording read a result's value ({}) and then recorded more ops, which may depend on it "
        "(a C++ branch on a value); replaying would take the old path silently. Record afresh each step, or "
        "read values only after the last op",
        value_dependent_);
  if (tangents_) raise<TapeError>("replay: a tangent recording (jvp, hvp) cannot be replayed");
  check_leaves_unchanged("replay");
  spare_grads();  // the sweep starts from zero gradients, in the same buffers
  backward_done_ = false;
  swept_ = false;
  swept_nodes_ = 0;
  swept_slots_ = 0;
  pending_read_ = nullptr;
  const FlagScope running(replaying_, true);
  for (const ForwardStep& step : forwards_) step.run(step.closure);
}

void TensorSection::throw_recorded_in_replay(const char* name) const {
  raise<TapeError>(
      "replay: op '{}' was recorded from inside another op's forward closure; a forward closure computes "
      "with its buffers only (an op that calls tensor ops in its forward cannot use OpRecord::forward)",
      name);
}

void TensorSection::claim(LeafData& leaf, const char* what) {
  const uintptr_t me = this_thread_token();
  if (leaf.thread.load(std::memory_order_acquire) != me) {
    uintptr_t none = 0;
    if (!leaf.thread.compare_exchange_strong(none, me, std::memory_order_acq_rel))
      raise<TapeError>(
          "{}: a leaf tensor (a parameter?) is in another thread's recording right now; a leaf is recorded by "
          "one thread at a time, since its gradient is one buffer. Give each thread its own copy of the "
          "parameters and add their gradients up, or record on one thread (docs/threads.md)",
          what);
  }
  ++leaf.recordings;
}

void TensorSection::release_leaves() {
  for (const auto& leaf : leaves_)
    if (--leaf->recordings == 0) leaf->thread.store(0, std::memory_order_release);
  leaves_.clear();
}

uint32_t TensorSection::resolve(const Tensor& t, const char* what) {
  if (t.leaf_) {  // not yet in this recording (slot_of returned those): register it
    LeafData& leaf = *t.leaf_;
    if (leaf.thread.load(std::memory_order_relaxed) == this_thread_token() && leaf.gen == tape_.generation() &&
        leaf.slot < slots_.size() && slots_[leaf.slot].leaf == &leaf) {  // in this recording: its dtype changed
      for (size_t i = 0; i < leaves_.size(); ++i)
        if (leaves_[i].get() == &leaf) throw_leaf_changed(what, i);
    }
    claim(leaf, what);
    leaf.gen = tape_.generation();
    leaf.slot = static_cast<uint32_t>(slots_.size());
    slots_.push_back(Slot{&leaf.value, nullptr, &leaf, leaf.requires_grad, leaf.value.dtype()});
    leaves_.push_back(t.leaf_);  // the recording keeps the leaf alive (a temporary leaf is common)
    leaf_shapes_.push_back(leaf.value.shape());
    return leaf.slot;
  }
  if (!t.tape_) raise<ValueError>("{}: the tensor is undefined (default-constructed)", what);
  if (t.tape_ != &tape_ || !tape_.owns(t.gen_)) {
    if (t.tape_ == &tape_) tape_.throw_foreign(what, t.gen_);
    if (!Tape::is_live_here(t.tape_)) (void)t.value();  // raises: its tape no longer exists
    raise<TapeError>(
        "{}: the tensor belongs to another tape; results of ops cannot cross tapes (use a leaf, or "
        "copy its value into one)",
        what);
  }
  return t.slot_;
}

void TensorSection::check_leaves_unchanged(const char* what) const {
  for (size_t i = 0; i < leaves_.size(); ++i) {
    const Array& value = leaves_[i]->value;
    if (!(value.shape() == leaf_shapes_[i]) || value.dtype() != slots_[leaves_[i]->slot].dtype)
      throw_leaf_changed(what, i);
  }
}

void TensorSection::throw_leaf_changed(const char* what, size_t leaf) const {
  const uint32_t slot = leaves_[leaf]->slot;
  const Array& value = leaves_[leaf]->value;
  const auto first_reader = [&]() -> const char* {  // the first recorded op that reads the leaf
    for (const Node& node : nodes_)
      for (uint32_t e = node.inputs_begin; e < node.inputs_end; ++e)
        if ((inputs_[e] & ~kNoGrad) == slot) return node.name;
    return "(none recorded yet)";
  };
  raise<TapeError>(
      "{}: a leaf tensor{} read by op '{}' changed after it was recorded: recorded as {} {}, now {} {}. A "
      "recording reads its leaves' values when it is swept; changing a leaf's shape or dtype in between "
      "(Module::to, resizing mutable_value()) invalidates it: record again after the change",
      what, leaves_[leaf]->requires_grad ? " (a parameter)" : "", first_reader(), leaf_shapes_[leaf],
      dtype_name(slots_[slot].dtype), value.shape(), dtype_name(value.dtype()));
}

void TensorSection::next_pool_chunk() {
  if (pool_chunks_used_ == pool_.size()) pool_.push_back(std::make_unique<Array[]>(kPoolChunk));
  pool_next_ = pool_[pool_chunks_used_++].get();
  pool_end_ = pool_next_ + kPoolChunk;
}

uint32_t TensorSection::add_slot(Array& value, bool requires_grad) {
  slots_.push_back(Slot{&value, nullptr, nullptr, requires_grad, value.dtype()});
  return static_cast<uint32_t>(slots_.size() - 1);
}

Array& TensorSection::first_grad(uint32_t i) {
  make_grad(i, true);
  return *slots_[i].grad;
}

bool TensorSection::make_grad(uint32_t i, bool zero) {
  Slot& s = slots_[i];
  bool made = true;
  if (s.leaf) {
    made = s.leaf->claim_grad();
    s.grad = &s.leaf->grad;
  } else {
    Array* spare = i < spare_grads_.size() ? std::exchange(spare_grads_[i], nullptr) : nullptr;
    s.grad = spare ? spare : &take(s.value->shape(), s.value->dtype());
  }
  if (made && zero) s.grad->fill(0.0);
  return made;
}

namespace {
void check_finite_grads(const Node& node, BackwardContext& ctx) {
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.needs_grad(i)) continue;
    const Array& g = ctx.grad_input(i);
    for (int64_t k = 0; k < g.numel(); ++k)
      if (!std::isfinite(g.at(k)))
        raise<NumericError>(
            "anomaly mode: backward of op '{}' produced a non-finite gradient for its input {} "
            "(shape {}) at element {}",
            node.name, i, g.shape(), k);
  }
}
}  // namespace

void TensorSection::list_grad_ready(size_t first_node) {
  grad_ready_.clear();
  marked_.assign(slots_.size(), false);  // listed already
  for (auto n = static_cast<uint32_t>(first_node); n < nodes_.size(); ++n)
    for (uint32_t e = nodes_[n].inputs_begin; e < nodes_[n].inputs_end; ++e) {
      const uint32_t entry = inputs_[e];
      if (entry & kNoGrad) continue;
      const Slot& s = slots_[entry];
      if (!s.leaf || !s.requires_grad || marked_[entry]) continue;
      marked_[entry] = true;
      grad_ready_.emplace_back(n, entry);
    }
}

void TensorSection::backward(uint32_t root, const Array* seed, const BackwardOptions& options) {
  if (recording_differentiated_function_)
    raise<TapeError>(
        "backward: called inside a function that jvp, hvp, hessian or gradgradcheck is differentiating; its "
        "gradients would land in leaf buffers, constants to the outer derivative, so nesting a tensor backward() "
        "there is refused (docs/higher-order.md)");
  check_leaves_unchanged("backward");
  Slot& r = slots_[root];
  if (!r.requires_grad)
    raise<TapeError>(
        "backward: this tensor does not require grad: none of its inputs is a parameter "
        "(requires_grad) or it was computed under NoGradGuard or from detached values");
  // After a sweep without retain_graph, a root recorded since may still be swept (loss1.backward();
  // loss2.backward()), over the new nodes only, if its gradient never needs the swept part.
  const size_t first_node = backward_done_ ? swept_nodes_ : 0;
  if (backward_done_ && reaches_swept_part(root)) throw_already_swept();
  // A retained recording swept again: intermediate gradients start from zero (only leaves
  // accumulate), so the earlier sweep is not propagated twice.
  begin_sweep_buffers();
  swept_ = true;
  Array& g = grad_of(root);
  if (seed) {
    if (!(seed->shape() == g.shape()))
      raise<ShapeError>("backward: seed shape must match the output, got seed {} and output {}", seed->shape(),
                        g.shape());
    Array& converted = take(g.shape(), g.dtype());
    converted.assign(*seed);
    kernels::add_into(g, converted);
  } else {
    if (g.numel() != 1)
      raise<TapeError>(
          "backward: the output has shape {} ({} elements); backward() without a seed needs a "
          "one-element output. Reduce it (sum/mean) or pass a seed of shape {}",
          g.shape(), g.numel(), g.shape());
    g.set(0, g.at(0) + 1.0);
  }
  const bool anomaly = is_anomaly_enabled();
  const bool report = static_cast<bool>(options.on_grad_ready);
  if (report) list_grad_ready(first_node);
  size_t ready = grad_ready_.size();  // entries below this index are not reported yet
  for (size_t n = nodes_.size(); n-- > first_node;) {
    const Node& node = nodes_[n];
    if (slots_[node.out].grad || (node.second_out != kNoSlot && slots_[node.second_out].grad)) {
      // else nothing flows back through this node
      BackwardContext ctx(*this, node);
      node.backward(node.closure, ctx);
      if (anomaly) check_finite_grads(node, ctx);
    }
    if (!report) continue;
    for (; ready > 0 && grad_ready_[ready - 1].first == n; --ready) {
      const uint32_t leaf = grad_ready_[ready - 1].second;
      options.on_grad_ready(*slots_[leaf].value, grad_of(leaf));
    }
  }
  backward_done_ = !options.retain_graph;
  swept_nodes_ = nodes_.size();
  swept_slots_ = slots_.size();
}

std::vector<const char*> TensorSection::op_names() const {
  std::vector<const char*> names;
  for (const Node& node : nodes_) names.push_back(node.name);
  return names;
}

bool TensorSection::reaches_swept_part(uint32_t root) {
  marked_.assign(slots_.size(), false);  // reached from the root
  marked_[root] = true;
  for (size_t n = nodes_.size(); n-- > swept_nodes_;) {
    const Node& node = nodes_[n];
    if (!marked_[node.out] && !(node.second_out != kNoSlot && marked_[node.second_out])) continue;
    for (uint32_t e = node.inputs_begin; e < node.inputs_end; ++e)
      if (!(inputs_[e] & kNoGrad)) marked_[inputs_[e]] = true;
  }
  for (size_t s = 0; s < swept_slots_; ++s)  // an intermediate of the swept part that needs a gradient
    if (marked_[s] && !slots_[s].leaf && slots_[s].requires_grad) return true;
  return false;
}

}  // namespace detail

}  // namespace tapegrad
