#pragma once
/// \file
/// Ops that move elements without arithmetic: reshape, permute/transpose, slice, concat/stack,
/// index_select and gather. Their backward routes the gradient back to where each element came from.
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "autodiff/tensor.hpp"

namespace tapegrad {

/// New shape with the same number of elements; one dimension may be -1 (inferred).
Tensor reshape(const Tensor& x, std::span<const int64_t> dims);
/// The same, dimensions in braces: `reshape(x, {2, -1})`.
inline Tensor reshape(const Tensor& x, std::initializer_list<int64_t> dims) {
  return reshape(x, std::span<const int64_t>(dims.begin(), dims.size()));
}
/// Inserts a dimension of size 1 at `axis`.
Tensor unsqueeze(const Tensor& x, int axis);
/// Output axis i is input axis perm[i].
Tensor permute(const Tensor& x, std::span<const int> perm);
/// The same, permutation in braces: `permute(x, {0, 2, 1})`.
inline Tensor permute(const Tensor& x, std::initializer_list<int> perm) {
  return permute(x, std::span<const int>(perm.begin(), perm.size()));
}
/// Swaps two axes (the last two by default).
Tensor transpose(const Tensor& x, int axis0 = -2, int axis1 = -1);
/// Elements [start, end) along `axis` (negative indices count from the end).
Tensor slice(const Tensor& x, int axis, int64_t start, int64_t end);
/// Joins tensors along an existing axis.
Tensor concat(std::span<const Tensor> xs, int axis);
/// The same, tensors in braces.
inline Tensor concat(std::initializer_list<Tensor> xs, int axis) {
  return concat(std::span<const Tensor>(xs.begin(), xs.size()), axis);
}
/// Joins tensors along a new axis.
Tensor stack(std::span<const Tensor> xs, int axis);
/// The same, tensors in braces.
inline Tensor stack(std::initializer_list<Tensor> xs, int axis) {
  return stack(std::span<const Tensor>(xs.begin(), xs.size()), axis);
}
/// The entries of `index` along `axis`: out.shape[axis] = index.size(). Repeats are allowed.
Tensor index_select(const Tensor& x, int axis, std::span<const int64_t> index);
/// PyTorch's gather: out has index_shape; out[..i_axis..] = x[..index[..]..] along `axis`.
Tensor gather(const Tensor& x, int axis, std::span<const int64_t> index, const Shape& index_shape);

}  // namespace tapegrad
