#pragma once
/// \file
/// Elementwise tensor ops with NumPy broadcasting. Forward and backward of each op sit side by side
/// in elementwise.cpp; composites (sub/div by a scalar, ...) have no backward code of their own.
#include "autodiff/tensor.hpp"

namespace tapegrad {

///@{
/// Elementwise arithmetic of two tensors with NumPy broadcasting (ShapeError if the shapes do not
/// broadcast, ValueError for mixed float32/float64 operands); maximum and minimum pass the gradient
/// to the larger (smaller) operand and split it evenly on ties.
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
///@}

////@{
/// Arithmetic of a tensor and a scalar constant (the scalar gets no gradient); the result keeps the
/// tensor's dtype.
Tensor add_scalar(const Tensor& x, double s);
Tensor mul_scalar(const Tensor& x, double s);
Tensor pow(const Tensor& x, double p);
Tensor operator+(const Tensor& x, double s);
Tensor operator+(double s, const Tensor& x);
Tensor operator-(const Tensor& x, double s);
Tensor operator-(double s, const Tensor& x);
Tensor operator*(const Tensor& x, double s);
Tensor operator*(double s, const Tensor& x);
Tensor operator/(const Tensor& x, double s);
Tensor operator/(double s, const Tensor& x);
///@}

////@{
/// The elementwise function of x (values and derivatives from autodiff/elementwise_math.hpp).
/// leaky_relu is x for x > 0 and negative_slope * x otherwise.
Tensor operator-(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor square(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor softplus(const Tensor& x);
///@}
/// x Phi(x) with Phi the standard normal CDF (the exact form, not the tanh approximation).
Tensor gelu(const Tensor& x);
/// Limits x to [lo, hi]; the gradient is 1 strictly inside and 0 outside.
Tensor clamp(const Tensor& x, double lo, double hi);
/// Converts to another dtype (the gradient converts back).
Tensor to_dtype(const Tensor& x, DType dtype);

/// mask ? a : b elementwise (mask nonzero = true), broadcasting all three. No gradient to mask.
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);

////@{
/// Comparisons, broadcasting: a mask of 1 where a > b (gt), < (lt), >= (ge), <= (le), == (eq),
/// else 0, in a's dtype, with no gradient.
Tensor gt(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
///@}

}  // namespace tapegrad
