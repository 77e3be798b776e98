#pragma once
/// \file
/// Second derivatives of a model's loss in its parameters (autodiff/higher_order.hpp for functions):
///
///   std::vector<Array> hv = nn::hvp(model, [&] { return nn::cross_entropy(model(x), labels); }, directions);
///
/// directions: one Array per model.parameters() entry, in that order, of its shape and dtype.
#include <functional>
#include <span>
#include <vector>

#include "autodiff/higher_order.hpp"
#include "nn/layers/module.hpp"

namespace tapegrad::nn {

/// H directions, H the Hessian of loss() (one element) in the model's parameters, one Array per
/// parameter: one recording of loss() with tangents (every layer, loss and activation has a tangent
/// rule) and one reverse sweep. Parameters, their gradients and the model's buffers (batch norm's
/// running statistics) are left as they were. Seed-mode batch norm has no second derivative: its
/// backward is not a gradient, and hvp through it raises TapeError.
std::vector<Array> hvp(Module& model, const std::function<Tensor()>& loss, std::span<const Array> directions);

}  // namespace tapegrad::nn
