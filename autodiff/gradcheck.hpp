#pragma once
/// \file
/// Public finite-difference gradient checker: central differences in double precision, compared
/// element by element with |numeric - analytic| <= atol + rtol * |numeric|. Users run it on their
/// own functions and models.
///
///   auto r = tapegrad::gradcheck([](std::span<const Var> x) { return x[0] * sin(x[1]); }, {{0.3, 1.2}});
///   if (!r) fmt::print("{}\n", r.message);
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "autodiff/tensor.hpp"
#include "autodiff/var.hpp"

namespace tapegrad {

/// How gradcheck perturbs and compares.
struct GradcheckOptions {
  double eps = 1e-6;   ///< step h = eps * max(1, |x|)
  double atol = 1e-8;  ///< absolute tolerance
  double rtol = 1e-6;  ///< relative tolerance (times |numeric|)
  /// 0: the full Jacobian (one backward per output element, two evaluations per input element).
  /// k > 0: k random projections, checking d<r, f(x)>/dx . v for random r and v (one backward and
  /// two evaluations each): for inputs too large for the full Jacobian.
  int projections = 0;
  uint64_t seed = 42;  ///< seed of the random projections
};

/// The verdict of a check; converts to bool.
struct GradcheckResult {
  bool ok = true;              ///< every compared entry within tolerance
  double max_abs_error = 0.0;  ///< the largest |numeric - analytic| seen
  std::string message;         ///< the first failure: where, numeric and analytic values
  /// True when the check passed.
  explicit operator bool() const { return ok; }
};

/// A scalar function of scalars, as gradcheck takes it.
using VarFunction = std::function<Var(std::span<const Var>)>;
/// A tensor function of tensors, as gradcheck takes it.
using TensorFunction = std::function<Tensor(std::span<const Tensor>)>;

/// Checks the gradient of a scalar function of scalars at x.
GradcheckResult gradcheck(const VarFunction& f, std::span<const double> x, GradcheckOptions options = {});
/// The same, with the point listed in braces.
inline GradcheckResult gradcheck(const VarFunction& f, std::initializer_list<double> x, GradcheckOptions options = {}) {
  return gradcheck(f, std::span<const double>(x.begin(), x.size()), options);
}

/// Checks second derivatives: Hessian-vector products (hvp, exact) against central differences of
/// the gradient, H e_j column by column, or random projections r . H v with options.projections.
GradcheckResult gradgradcheck(const VarFunction& f, std::span<const double> x, GradcheckOptions options = {});
/// The same for a tensor function with a one-element output, at float64 inputs.
GradcheckResult gradgradcheck(const TensorFunction& f, std::span<const Array> inputs, GradcheckOptions options = {});

/// Checks the Jacobian of a tensor function at the given float64 inputs (each becomes a leaf that
/// requires grad). The output may have any shape.
GradcheckResult gradcheck(const TensorFunction& f, std::span<const Array> inputs, GradcheckOptions options = {});

}  // namespace tapegrad
