#include "autodiff/op.hpp"

#include <cmath>

#include "autodiff/detail/kernels.hpp"

namespace tapegrad {

// ---- BackwardContext ----

Array& BackwardContext::scratch(const Shape& shape, DType dtype) { return s_.take(shape, dtype); }

void BackwardContext::accumulate(size_t i, const Array& g) {
  Array& dst = grad_input(i);
  if (g.shape() == dst.shape()) {
    kernels::add_into(dst, g);
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

uint32_t OpRecord::finish_slot(bool record) {
  TAPEGRAD_ASSERT(out_ != nullptr);
  if (is_anomaly_enabled()) {
    for (const Array* y : {out_, second_})
      for (int64_t k = 0; y && k < y->numel(); ++k)
        if (!std::isfinite(y->at(k)))
          raise<NumericError>("anomaly mode: forward op '{}' produced a non-finite value at element {} (shape {})",
                              name_, k, y->shape());
  }
  if (!record) s_.inputs_.resize(begin_);
  if (second_) second_slot_ = s_.add_slot(*second_, record);
  return s_.add_slot(*out_, record);
}

}  // namespace tapegrad
