#include "autodiff/op.hpp"

#include <cmath>

#include "autodiff/detail/kernels.hpp"

namespace tapegrad {

// ---- BackwardContext ----

Array& BackwardContext::scratch(const Shape& shape, DType dtype) { return s_.take(shape, dtype); }

void BackwardContext::accumulate(size_t i, const Array& g) {
  const auto [dst, fresh] = grad_input_to_write(i);
  if (g.shape() == dst.shape()) {
    if (fresh)
      dst.assign(g);
    else
      kernels::add_into(dst, g);
  } else if (fresh) {
    kernels::sum_to(g, dst.shape(), dst);
  } else {
    Array& reduced = s_.take(dst.shape(), dst.dtype());
    kernels::sum_to(g, dst.shape(), reduced);
    kernels::add_into(dst, reduced);
  }
}

// ---- OpRecord ----

OpRecord::OpRecord(const char* name, std::initializer_list<const Tensor*> inputs)
    : OpRecord(name, std::span<const Tensor* const>(inputs.begin(), inputs.size())) {}

OpRecord::OpRecord(const char* name, std::span<const Tensor* const> inputs)
    : name_(name), s_(Tape::active().tensors()), begin_(static_cast<uint32_t>(s_.inputs_.size())) {
  add_inputs(inputs.size(), [inputs](size_t i) -> const Tensor& { return *inputs[i]; });
}

OpRecord::OpRecord(const char* name, std::span<const Tensor> inputs)
    : name_(name), s_(Tape::active().tensors()), begin_(static_cast<uint32_t>(s_.inputs_.size())) {
  add_inputs(inputs.size(), [inputs](size_t i) -> const Tensor& { return inputs[i]; });
}

Array& OpRecord::output(const Shape& shape, DType dtype) {
  out_ = &s_.take(shape, dtype);
  return *out_;
}

Array& OpRecord::second_output(const Shape& shape, DType dtype) {
  second_ = &s_.take(shape, dtype);
  return *second_;
}

void TangentContext::set_second_output_tangent(const Tensor& t) {
  if (second_ == detail::kNoSlot)
    raise<ValueError>("set_second_output_tangent: the op has no second output (OpRecord::second_output)");
  const Array& sv = *s_.slot(second_).value;
  if (!(t.shape() == sv.shape()) || t.dtype() != sv.dtype())
    raise<ShapeError>("set_second_output_tangent: a {} {} tangent for a {} {} second output", t.shape(),
                      dtype_name(t.dtype()), sv.shape(), dtype_name(sv.dtype()));
  s_.set_tangent(second_, s_.slot_of(t, "set_second_output_tangent"));
}

void OpRecord::throw_no_tangent_rule() {
  s_.inputs_.resize(begin_);
  s_.tangent_inputs_.resize(tangent_begin_);
  raise<TapeError>(
      "{}: the op has no tangent rule, so forward mode (jvp, hvp, hessian, gradgradcheck) cannot pass through it; "
      "an op gets one by ending with OpRecord::finish(backward, tangent) (docs/writing-ops.md)",
      name_);
}

Tensor OpRecord::fit_tangent(const Tensor& t, const Tensor& y) const {
  const Array& tv = t.value();
  const Array& yv = y.value();
  if (tv.dtype() != yv.dtype())
    raise<TapeError>("{}: its tangent rule returned a {} tangent for a {} output", name_, dtype_name(tv.dtype()),
                     dtype_name(yv.dtype()));
  if (tv.shape() == yv.shape()) return t;
  if (!(broadcast_shape(name_, tv.shape(), yv.shape()) == yv.shape()))
    raise<ShapeError>("{}: its tangent rule returned a tangent of shape {} for an output of shape {}", name_,
                      tv.shape(), yv.shape());
  return t + Tensor::zeros(yv.shape(), yv.dtype());  // a broadcast input's tangent alone: spread it out
}

uint32_t OpRecord::finish_slot(bool record) {
  TAPEGRAD_ASSERT(out_ != nullptr);
  if (is_anomaly_enabled()) {
    for (const Array* y : {out_, second_})
      for (int64_t k = 0; y && k < y->numel(); ++k)
        if (!std::isfinite(y->at(k)))
          raise<NumericError>("anomaly mode: forward op '{}' produced a non-finite value at element {} (shape {})",
                              name_, k, y->shape());
  }
  s_.note_op(name_, has_forward_);
  if (!record) s_.inputs_.resize(begin_);
  if (second_) second_slot_ = s_.add_slot(*second_, record);
  return s_.add_slot(*out_, record);
}

}  // namespace tapegrad
