#pragma once
/// \file
/// Gradient checks of whole models, for users' own test suites: every parameter's gradient from the
/// tape against central differences of the loss (double precision; convert with model.to(DType::f64)).
///
///   model.eval();   // or fix the random layers' seeds: the loss must be deterministic
///   auto r = nn::gradcheck(model, [&] { return nn::cross_entropy(model(x), labels); });
///   CHECK_MESSAGE(r.ok, r.message);   // names the parameter ("0.weight"), the element, both values
#include <functional>

#include "autodiff/gradcheck.hpp"
#include "nn/layers/module.hpp"

namespace tapegrad::nn {

/// loss records a one-element loss at the parameters' current values on the active tape. With
/// options.projections = 0 every element of every parameter is checked (two loss evaluations
/// each); with k > 0, k random directions over all parameters at once (for large models).
GradcheckResult gradcheck(Module& model, const std::function<Tensor()>& loss, GradcheckOptions options = {});

/// Second derivatives: nn::hvp against central differences of the tape's gradient. With
/// options.projections = 0, H e_j for every parameter element j (one hvp and two gradients each);
/// with k > 0, r . H v for k random pairs (r, v) over all parameters.
GradcheckResult gradgradcheck(Module& model, const std::function<Tensor()>& loss, GradcheckOptions options = {});

}  // namespace tapegrad::nn
