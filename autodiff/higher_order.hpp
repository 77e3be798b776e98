#pragma once
/// \file
/// Second derivatives and forward mode: jvp (a Jacobian-vector product in forward mode), hvp (a
/// Hessian-vector product), hessian, for the same functions gradcheck takes. Each call makes its own
/// recording on a tape of its own, with or without an active tape, and returns exact derivatives.
///
/// Scalars: the tape records each statement's partials with their tangents (the partial formulas of
/// autodiff/elementwise_math.hpp evaluated on dual numbers, autodiff/dual.hpp), and one reverse sweep
/// carrying adjoints and their tangents gives H v: forward over reverse, about one recording and one
/// sweep of twice the work of a gradient.
///
/// Tensors: each op's tangent rule (autodiff/op.hpp, TangentContext) computes its output's tangent
/// with tensor ops, recorded like any other; jvp runs them with nothing needing a gradient, and hvp
/// sweeps backwards from the tangent of f: reverse over forward, H v = d/dx (grad f . v).
/// See docs/higher-order.md for costs and limits.
///
///   VarFunction f = [](std::span<const Var> v) { return v[0] * sin(v[1]) + exp(v[0] * v[1]); };
///   JvpResult j = jvp(f, x, v);              // f(x) and grad f(x) . v
///   std::vector<double> hv = hvp(f, x, v);   // H(x) v
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "autodiff/gradcheck.hpp"

namespace tapegrad {

/// f(x) and its directional derivative grad f(x) . v.
struct JvpResult {
  double value = 0.0;    ///< f(x)
  double tangent = 0.0;  ///< grad f(x) . v
};

/// f(x) and grad f(x) . v in one forward pass (forward mode: nothing is stored for a reverse sweep).
JvpResult jvp(const VarFunction& f, std::span<const double> x, std::span<const double> v);
/// H(x) v, the Hessian of f at x times v: one recording with tangents and one reverse sweep.
std::vector<double> hvp(const VarFunction& f, std::span<const double> x, std::span<const double> v);
/// The Hessian of f at x, row-major n x n (n Hessian-vector products); ValueError, naming the bytes,
/// when n x n doubles cannot be held.
std::vector<double> hessian(const VarFunction& f, std::span<const double> x);

/// The gradient of g at x as Vars, for use inside a function that jvp differentiates: they carry
/// their tangents, H(x) x' (the inner gradient taken on a tape of its own with tangents, then handed
/// back as leaves of jvp's recording): forward over reverse, one level of nesting. TapeError inside
/// hvp, hessian or gradgradcheck (reverse over reverse is not supported), or when x holds Vars of a
/// plain recording (a backward() through the result would treat the gradient as a constant); with
/// constant x, constants.
std::vector<Var> gradient(const VarFunction& g, std::span<const Var> x);

/// f(inputs) and its directional derivative along `directions`, both of f's output shape.
struct TensorJvpResult {
  Array value;    ///< f(inputs)
  Array tangent;  ///< J(inputs) directions
};

/// f(inputs) and J directions in one forward pass: each op's tangent rule, with nothing recorded for
/// a reverse sweep. `directions` match the inputs in number, shape and dtype. f may have any output shape.
TensorJvpResult jvp(const TensorFunction& f, std::span<const Array> inputs, std::span<const Array> directions);
/// H directions, one Array per input, for f with a one-element output: the tangent of f recorded
/// (reverse over forward), then one reverse sweep from it.
std::vector<Array> hvp(const TensorFunction& f, std::span<const Array> inputs, std::span<const Array> directions);
/// H directions for f(), a one-element function of existing leaves that require grad (a model's
/// parameters; nn::hvp takes a Module): each leaf's tangent is set to its direction on a tape of the
/// call's own. The leaves' values are untouched and their gradients are given back as they were.
std::vector<Array> hvp(std::span<const Tensor> leaves, const std::function<Tensor()>& f,
                       std::span<const Array> directions);
/// The Hessian of f (one-element output) over all input elements in order, [N, N] with N the total
/// number of elements (N Hessian-vector products); ValueError, naming the bytes, when it cannot be held.
Array hessian(const TensorFunction& f, std::span<const Array> inputs);

}  // namespace tapegrad
