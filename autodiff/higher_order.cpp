#include "autodiff/higher_order.hpp"

#include <unistd.h>

#include "autodiff/detail/tensor_section.hpp"
#include "autodiff/error.hpp"

namespace tapegrad {

namespace {

/// n x n, refused with the bytes named when that is more than half this machine's memory.
size_t hessian_entries(size_t n) {
  size_t entries = 0, bytes = 0;
  const auto pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  const double memory = pages > 0 && page > 0 ? double(pages) * double(page) : 0.0;
  if (__builtin_mul_overflow(n, n, &entries) || __builtin_mul_overflow(entries, sizeof(double), &bytes) ||
      (memory > 0 && double(bytes) > memory / 2))
    raise<ValueError>(
        "hessian: {} inputs make a {} x {} Hessian of {:.4g} bytes, more than half this machine's memory ({:.4g} "
        "bytes); take Hessian-vector products (hvp) instead",
        n, n, n, double(n) * double(n) * sizeof(double), memory);
  return entries;
}

void check_direction(const char* what, std::span<const double> x, std::span<const double> v) {
  if (v.size() != x.size())
    raise<ShapeError>("{}: the direction has {} entries, the point {}; they must match", what, v.size(), x.size());
}

/// f recorded at x with tangents v on `tape` (a tape of the call's own).
Var record_with_tangents(Tape& tape, Tape::Tangents mode, const VarFunction& f, std::span<const double> x,
                         std::span<const double> v, std::vector<Var>& leaves) {
  tape.record_tangents(mode);
  leaves.assign(x.begin(), x.end());
  for (size_t i = 0; i < x.size(); ++i) tape.set_tangent(leaves[i], v[i]);
  return f(leaves);
}

/// H v at x on `tape`; with `grad`, also the gradient (both zero when f does not depend on x).
std::vector<double> hvp_on(Tape& tape, const VarFunction& f, std::span<const double> x, std::span<const double> v,
                           std::vector<Var>& leaves, std::vector<double>* grad = nullptr) {
  const Var y = record_with_tangents(tape, Tape::Tangents::second_order, f, x, v, leaves);
  std::vector<double> hv(x.size(), 0.0);
  if (grad) grad->assign(x.size(), 0.0);
  if (y.is_constant()) return hv;
  tape.backward_second_order(y);
  for (size_t i = 0; i < x.size(); ++i) {
    hv[i] = tape.grad_tangent(leaves[i]);
    if (grad) (*grad)[i] = leaves[i].grad();
  }
  return hv;
}

}  // namespace

JvpResult jvp(const VarFunction& f, std::span<const double> x, std::span<const double> v) {
  check_direction("jvp", x, v);
  EnableGradGuard grad_on;  // our own recording, whatever the caller's grad mode
  Tape tape;
  std::vector<Var> leaves;
  const Var y = record_with_tangents(tape, Tape::Tangents::forward, f, x, v, leaves);
  return {y.value(), tape.tangent(y)};
}

std::vector<double> hvp(const VarFunction& f, std::span<const double> x, std::span<const double> v) {
  check_direction("hvp", x, v);
  EnableGradGuard grad_on;  // our own recording, whatever the caller's grad mode
  Tape tape;
  std::vector<Var> leaves;
  return hvp_on(tape, f, x, v, leaves);
}

std::vector<Var> gradient(const VarFunction& g, std::span<const Var> x) {
  Tape* outer = detail::tls.tape;
  bool constant = true;
  for (const Var& v : x) constant = constant && v.is_constant();
  const Tape::Tangents mode = outer ? outer->tangents() : Tape::Tangents::none;
  if (!constant && mode != Tape::Tangents::forward)
    raise<TapeError>(
        "gradient(g, x): {}; a gradient that is itself differentiated is supported in forward over reverse: take "
        "it inside a function passed to jvp",
        mode == Tape::Tangents::none ? "x holds recorded Vars, and a backward() through the result would treat the "
                                       "gradient as a constant"
                                     : "called inside hvp, hessian or gradgradcheck (reverse over reverse)");
  std::vector<double> values, tangents;
  for (const Var& v : x) {
    values.push_back(v.value());
    tangents.push_back(constant ? 0.0 : outer->tangent(v));
  }
  std::vector<double> grad, grad_tangent;
  {
    EnableGradGuard grad_on;
    Tape inner;
    std::vector<Var> leaves;
    grad_tangent = hvp_on(inner, g, values, tangents, leaves, &grad);  // H x', and the gradient
  }
  std::vector<Var> result;
  if (constant) {
    NoGradGuard constants;
    for (double gi : grad) result.emplace_back(gi);
    return result;
  }
  for (size_t i = 0; i < x.size(); ++i) {  // back on jvp's recording: leaves with their tangents
    result.emplace_back(grad[i]);
    outer->set_tangent(result.back(), grad_tangent[i]);
  }
  return result;
}

std::vector<double> hessian(const VarFunction& f, std::span<const double> x) {
  const size_t n = x.size();
  const size_t entries = hessian_entries(n);
  EnableGradGuard grad_on;  // our own recording, whatever the caller's grad mode
  Tape tape;
  std::vector<Var> leaves;
  std::vector<double> h(entries), e(n, 0.0);
  for (size_t j = 0; j < n; ++j) {  // column j = H e_j; H is symmetric, so row j too
    e[j] = 1.0;
    const auto column = hvp_on(tape, f, x, e, leaves);
    e[j] = 0.0;
    for (size_t i = 0; i < n; ++i) h[i * n + j] = column[i];
  }
  return h;
}

// ---- tensors ----

namespace {

void check_directions(const char* what, std::span<const Array> inputs, std::span<const Array> directions) {
  if (directions.size() != inputs.size())
    raise<ShapeError>("{}: {} directions for {} inputs; give one per input", what, directions.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!(directions[i].shape() == inputs[i].shape()))
      raise<ShapeError>("{}: direction {} has shape {}, its input {}; they must match", what, i, directions[i].shape(),
                        inputs[i].shape());
    if (directions[i].dtype() != inputs[i].dtype())
      raise<ValueError>("{}: direction {} is {}, its input {}; they must match", what, i,
                        dtype_name(directions[i].dtype()), dtype_name(inputs[i].dtype()));
  }
}

std::vector<Array> values_of(std::span<const Tensor> tensors) {
  std::vector<Array> values;
  for (const Tensor& t : tensors) values.push_back(t.value());
  return values;
}

/// f() recorded on `tape` with each leaf's tangent set to its direction; a backward() inside f is
/// refused (its gradients would be constants to this derivative).
Tensor record_with_tangents(Tape& tape, const std::function<Tensor()>& f, std::span<const Tensor> leaves,
                            std::span<const Array> directions) {
  tape.record_tangents(Tape::Tangents::second_order);
  for (size_t i = 0; i < leaves.size(); ++i) tape.set_tangent(leaves[i], Tensor(directions[i]));
  const detail::FlagScope inside_f(tape.tensors().recording_differentiated_function_, true);
  return f();
}

std::vector<Tensor> make_leaves(std::span<const Array> inputs, bool requires_grad) {
  std::vector<Tensor> leaves;
  for (const Array& a : inputs) leaves.emplace_back(a, requires_grad);
  return leaves;
}

}  // namespace

TensorJvpResult jvp(const TensorFunction& f, std::span<const Array> inputs, std::span<const Array> directions) {
  check_directions("jvp", inputs, directions);
  EnableGradGuard grad_on;  // our own recording, whatever the caller's grad mode
  Tape tape;
  const std::vector<Tensor> leaves = make_leaves(inputs, false);  // nothing is swept: no gradient needed
  const Tensor y = record_with_tangents(
      tape, [&] { return f(leaves); }, leaves, directions);
  return {y.value(), tape.tangent(y).value()};
}

std::vector<Array> hvp(std::span<const Tensor> leaves, const std::function<Tensor()>& f,
                       std::span<const Array> directions) {
  check_directions("hvp", values_of(leaves), directions);
  for (size_t i = 0; i < leaves.size(); ++i)
    if (!leaves[i].is_leaf() || !leaves[i].requires_grad())
      raise<ValueError>("hvp: tensor {} is not a leaf that requires grad (a parameter)", i);
  EnableGradGuard grad_on;
  std::vector<Array> saved;  // the leaves' gradients, given back at the end
  for (Tensor leaf : leaves) {
    saved.push_back(leaf.grad());
    leaf.zero_grad();
  }
  std::vector<Array> hv;
  {
    Tape tape;
    const Tensor y = record_with_tangents(tape, f, leaves, directions);
    if (y.numel() != 1)
      raise<ShapeError>("hvp: f must return one element (a scalar loss), got shape {}; reduce it (sum, mean)",
                        y.shape());
    const Tensor directional = tape.tangent(y);  // grad f . v, recorded
    if (directional.requires_grad()) directional.backward();
    for (const Tensor& leaf : leaves) hv.push_back(leaf.grad());
  }
  for (size_t i = 0; i < leaves.size(); ++i) {
    Tensor leaf = leaves[i];
    leaf.mutable_grad().assign(saved[i]);
  }
  return hv;
}

std::vector<Array> hvp(const TensorFunction& f, std::span<const Array> inputs, std::span<const Array> directions) {
  check_directions("hvp", inputs, directions);
  const std::vector<Tensor> leaves = make_leaves(inputs, true);
  return hvp(
      leaves, [&] { return f(leaves); }, directions);
}

Array hessian(const TensorFunction& f, std::span<const Array> inputs) {
  int64_t n = 0;
  for (const Array& a : inputs) n += a.numel();
  const size_t entries = hessian_entries(static_cast<size_t>(n));
  const std::vector<Tensor> leaves = make_leaves(inputs, true);
  std::vector<Array> directions;
  for (const Array& a : inputs) directions.emplace_back(a.shape(), a.dtype());  // zeros
  std::vector<double> h(entries);
  int64_t j = 0;
  for (Array& e : directions)
    for (int64_t k = 0; k < e.numel(); ++k, ++j) {  // column j = H e_j
      e.set(k, 1.0);
      const auto column = hvp(
          leaves, [&] { return f(leaves); }, directions);
      e.set(k, 0.0);
      int64_t i = 0;
      for (const Array& part : column)
        for (int64_t m = 0; m < part.numel(); ++m, ++i) h[static_cast<size_t>(i * n + j)] = part.at(m);
    }
  return Array(Shape{n, n}, h);
}

}  // namespace tapegrad
