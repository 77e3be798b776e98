#pragma once
/// \file
/// A neuron activation sigma (seed eq. 16) applied as its tensor op; the tape-free scalar forms are
/// in nn/reference/activation.hpp (the reference's own).
#include "autodiff/elementwise_math.hpp"
#include "autodiff/tensor.hpp"
#include "nn/functional/activation_kind.hpp"

namespace tapegrad::nn {

/// sigma(x) for a seed network's activation kind, as tape ops (leaky_relu with kLeakySlope).
Tensor activate(const Tensor& x, Activation a);

/// Calls f(Op{}) with the autodiff math struct of a (value and partial, elementwise_math.hpp) and
/// returns true; false for the activations without one (identity, leaky_relu with its slope).
/// activate() and fused ops (the seed network's neuron op) both dispatch here.
template <class F>
bool with_activation_math(Activation a, F&& f) {
  switch (a) {
    case Activation::sigmoid: f(math::SigmoidOp{}); return true;
    case Activation::tanh: f(math::TanhOp{}); return true;
    case Activation::relu: f(math::ReluOp{}); return true;
    case Activation::softplus: f(math::SoftplusOp{}); return true;
    case Activation::identity:
    case Activation::leaky_relu: return false;
  }
  return false;
}

}  // namespace tapegrad::nn
