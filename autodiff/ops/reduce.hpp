#pragma once
/// \file
/// Reductions over all elements (axes = {}) or the given axes, with keepdim.
#include <initializer_list>
#include <span>
#include <vector>

#include "autodiff/tensor.hpp"

namespace tapegrad {

/// Axes to reduce over; empty means all of them. Negative axes count from the end.
using Axes = std::span<const int>;

/// The sum over `axes` (all by default); keepdim keeps them as size-1 dimensions.
Tensor sum(const Tensor& x, Axes axes = {}, bool keepdim = false);
/// The mean over `axes` (all by default); keepdim keeps them as size-1 dimensions.
Tensor mean(const Tensor& x, Axes axes = {}, bool keepdim = false);
/// The gradient goes to the maximal elements (split evenly between ties).
Tensor max(const Tensor& x, Axes axes = {}, bool keepdim = false);
/// The minimum over `axes`; the gradient goes to the minimal elements (split evenly between ties).
Tensor min(const Tensor& x, Axes axes = {}, bool keepdim = false);
/// log(sum(exp(x))) over the axes, computed stably (max subtracted).
Tensor logsumexp(const Tensor& x, Axes axes = {}, bool keepdim = false);

///@{
/// Brace-list conveniences: sum(x, {1}), mean(x, {0, 2}, true).
inline Tensor sum(const Tensor& x, std::initializer_list<int> axes, bool keepdim = false) {
  return sum(x, Axes(axes.begin(), axes.size()), keepdim);
}
inline Tensor mean(const Tensor& x, std::initializer_list<int> axes, bool keepdim = false) {
  return mean(x, Axes(axes.begin(), axes.size()), keepdim);
}
inline Tensor max(const Tensor& x, std::initializer_list<int> axes, bool keepdim = false) {
  return max(x, Axes(axes.begin(), axes.size()), keepdim);
}
inline Tensor min(const Tensor& x, std::initializer_list<int> axes, bool keepdim = false) {
  return min(x, Axes(axes.begin(), axes.size()), keepdim);
}
inline Tensor logsumexp(const Tensor& x, std::initializer_list<int> axes, bool keepdim = false) {
  return logsumexp(x, Axes(axes.begin(), axes.size()), keepdim);
}
///@}

}  // namespace tapegrad
