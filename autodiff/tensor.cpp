#include "autodiff/tensor.hpp"

#include <cmath>

#include "autodiff/detail/tensor_section.hpp"
#include "autodiff/error.hpp"

namespace tapegrad {

Tensor::Tensor(Array value, bool requires_grad) : leaf_(std::make_shared<detail::LeafData>()) {
  leaf_->value = std::move(value);
  leaf_->requires_grad = requires_grad;
}

Tensor Tensor::randn(const Shape& shape, std::mt19937_64& rng, DType dtype, double stddev) {
  if (!(stddev >= 0.0 && std::isfinite(stddev)))
    raise<ValueError>("randn: stddev must be finite and >= 0, got {}", stddev);
  std::normal_distribution<double> normal(0.0, stddev);
  Array a(shape, dtype);
  for (int64_t i = 0; i < a.numel(); ++i) a.set(i, normal(rng));
  return Tensor(std::move(a));
}

Tensor Tensor::uniform(const Shape& shape, std::mt19937_64& rng, double lo, double hi, DType dtype) {
  // std::uniform_real_distribution needs lo <= hi and hi - lo finite (else undefined behaviour).
  if (!(lo <= hi && std::isfinite(hi - lo)))
    raise<ValueError>("uniform: need finite bounds lo <= hi, got lo {} and hi {}", lo, hi);
  std::uniform_real_distribution<double> u(lo, hi);
  Array a(shape, dtype);
  for (int64_t i = 0; i < a.numel(); ++i) a.set(i, u(rng));
  return Tensor(std::move(a));
}

const Array& Tensor::value() const {
  const Array& v = array();
  if (!leaf_) tape_->tensors().note_value_read("Tensor::value() or item() of an op's result");
  return v;
}

const Array& Tensor::array() const {
  if (leaf_) return leaf_->value;
  if (!tape_) raise<ValueError>("value: the tensor is undefined (default-constructed)");
  if (!Tape::is_live_here(tape_))  // its tape is gone (or belongs to another thread): never read it
    raise<TapeError>(
        "Tensor: this result of an op was recorded on a tape that no longer exists (or on another thread's "
        "tape); copy values you need beyond a tape's life into a leaf: Tensor(t.value())");
  if (!tape_->owns(gen_)) tape_->throw_foreign("Tensor", gen_);
  return *tape_->tensors().slot(slot_).value;
}

const Array& Tensor::grad() const {
  if (leaf_) {
    if (leaf_->claim_grad()) leaf_->grad.fill(0.0);
    return leaf_->grad;
  }
  array();  // validates the handle
  return tape_->tensors().grad_of(slot_);
}

void Tensor::backward(BackwardOptions options) const {
  auto& s = Tape::active().tensors();
  s.backward(s.slot_of(*this, "backward"), nullptr, options);
}

void Tensor::backward(const Array& seed, BackwardOptions options) const {
  auto& s = Tape::active().tensors();
  s.backward(s.slot_of(*this, "backward"), &seed, options);
}

Tensor Tensor::detach() const {
  array();  // validates the handle
  Tensor t = *this;
  t.stop_grad_ = true;
  return t;
}

detail::LeafData& Tensor::leaf_checked(const char* what) const {
  if (!leaf_)
    raise<ValueError>(
        "{}: only leaf tensors (made from data, not by an op) can be changed; results of ops "
        "require grad exactly when their inputs do",
        what);
  return *leaf_;
}

Tensor& Tensor::requires_grad(bool on) {
  leaf_checked("requires_grad").requires_grad = on;
  return *this;
}

bool Tensor::requires_grad() const {
  if (stop_grad_) return false;
  if (leaf_) return leaf_->requires_grad;
  array();
  return tape_->tensors().slot(slot_).requires_grad;
}

void Tensor::zero_grad() {
  detail::LeafData& l = leaf_checked("zero_grad");
  l.grad_zeroed = l.has_grad;
}

Array& Tensor::mutable_value() { return leaf_checked("mutable_value").value; }

Array& Tensor::mutable_grad() {
  leaf_checked("mutable_grad");
  return const_cast<Array&>(grad());  // a leaf's gradient is its own storage
}

}  // namespace tapegrad
