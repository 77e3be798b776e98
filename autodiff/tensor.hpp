#pragma once
/// \file
/// Tensor: a dense row-major float/double tensor handle. Copying a Tensor copies the handle, not the
/// data (flashlight's shallow-copy semantics).
///
/// Two kinds of tensor:
///  - leaves (`Tensor(Array)`, `Tensor::zeros`, ...) own their value and gradient and outlive every
///    tape; parameters are leaves with requires_grad(true). Gradients accumulate across backward
///    calls until zero_grad().
///  - results of ops live on the active tape and become stale at tape.clear() (using one afterwards
///    throws TapeError).
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>

#include "autodiff/array.hpp"
#include "autodiff/tape.hpp"

namespace tapegrad {

namespace detail {
struct LeafData {
  Array value;
  Array grad;
  bool requires_grad = false;
  bool has_grad = false;
  bool grad_zeroed = false;  ///< zero_grad() marked grad zero without writing it (written when next used)
  Generation gen = 0;        ///< recording whose slot table holds this leaf, and its slot there
  uint32_t slot = 0;
  /// A leaf is recorded by one thread at a time: `thread` is the token of the thread whose live
  /// recordings hold it (0: none), `recordings` how many of them (touched only by that thread).
  /// Another thread's tape that meets it raises TapeError instead of racing on gen/slot and grad.
  std::atomic<uintptr_t> thread{0};
  uint32_t recordings = 0;
  /// Makes grad the value's shape and dtype; true when it held no gradient (none yet, another
  /// shape or dtype since Module::to, or zeroed by zero_grad()): its contents are then unspecified,
  /// for the caller to assign or zero.
  bool claim_grad() {
    const bool unset = !has_grad || grad_zeroed || grad.dtype() != value.dtype() || !(grad.shape() == value.shape());
    if (unset) {
      grad.resize(value.shape(), value.dtype());
      has_grad = true;
      grad_zeroed = false;
    }
    return unset;
  }
};
class TensorSection;
}  // namespace detail
class OpRecord;

/// A tensor handle: a leaf that owns its value and gradient, or an op's result on the active tape.
/// Copying copies the handle (see the file comment).
class Tensor {
 public:
  /// An undefined tensor; using it throws.
  Tensor() = default;
  /// A leaf holding `value`.
  explicit Tensor(Array value, bool requires_grad = false);
  /// A leaf of zeros.
  static Tensor zeros(const Shape& shape, DType dtype = DType::f64) { return Tensor(Array(shape, dtype)); }
  /// A leaf of ones.
  static Tensor ones(const Shape& shape, DType dtype = DType::f64) { return full(shape, 1.0, dtype); }
  /// A leaf with every element v.
  static Tensor full(const Shape& shape, double v, DType dtype = DType::f64) {
    return Tensor(Array::full(shape, v, dtype));
  }
  /// Normal(0, stddev^2) entries drawn from rng.
  static Tensor randn(const Shape& shape, std::mt19937_64& rng, DType dtype = DType::f64, double stddev = 1.0);
  /// Uniform(lo, hi) entries drawn from rng.
  static Tensor uniform(const Shape& shape, std::mt19937_64& rng, double lo, double hi, DType dtype = DType::f64);

  /// The value (TapeError if the tensor is stale or undefined). Reading an op's result here marks
  /// its recording value-dependent if more ops are recorded after (Tape::replay refuses it).
  const Array& value() const;
  /// The gradient accumulated by backward (zeros if nothing reached this tensor).
  const Array& grad() const;
  /// Reverse sweep from a one-element tensor (seed 1).
  void backward(BackwardOptions options = {}) const;
  /// Reverse sweep with an explicit seed dL/dthis of this tensor's shape.
  void backward(const Array& seed, BackwardOptions options = {}) const;
  /// The same value with gradients stopped (shares storage).
  Tensor detach() const;

  /// Leaves only: mark as a parameter (gradients are accumulated into it).
  Tensor& requires_grad(bool on);
  /// Whether gradients accumulate into this leaf (false for op results).
  bool requires_grad() const;
  /// Leaves only: set the accumulated gradient to zero (storage kept). The zeros are not written
  /// here: the next backward assigns where it would add (one pass over the buffer, not three), and
  /// a read before then (grad(), mutable_grad()) writes them. A reference to the gradient kept
  /// from before still shows the old values: call grad() again (as with PyTorch's .grad).
  void zero_grad();
  /// Leaves only: the stored value, for data updates and optimizer steps.
  Array& mutable_value();
  /// Leaves only: the accumulated gradient, for edits in place (clipping, averaging across
  /// processes); zeros of the value's shape if nothing accumulated yet.
  Array& mutable_grad();

  /// The value's shape.
  const Shape& shape() const { return array().shape(); }
  /// The value's dtype.
  DType dtype() const { return array().dtype(); }
  /// Number of elements.
  int64_t numel() const { return array().numel(); }
  /// Number of dimensions.
  int rank() const { return array().rank(); }
  /// The value of a one-element tensor.
  double item() const { return value().item(); }
  /// True for leaves (tensors that own their value), false for op results.
  bool is_leaf() const { return leaf_ != nullptr; }
  /// False for a default-constructed Tensor.
  bool defined() const { return leaf_ != nullptr || tape_ != nullptr; }

 private:
  friend class detail::TensorSection;
  friend class OpRecord;
  Tensor(Tape* tape, uint32_t slot, Generation gen) : tape_(tape), slot_(slot), gen_(gen) {}
  detail::LeafData& leaf_checked(const char* what) const;
  const Array& array() const;  ///< the value, checked, without marking a read (shape, dtype)

  std::shared_ptr<detail::LeafData> leaf_;
  Tape* tape_ = nullptr;
  uint32_t slot_ = 0;
  Generation gen_ = 0;
  bool stop_grad_ = false;
};

}  // namespace tapegrad
