#pragma once
/// \file
/// 2-D max, average and adaptive average pooling on raw buffers (the last two dimensions), written
/// without the tape: the one implementation that the tape's ops (nn/functional/pool.hpp) and the
/// hand-derived CNN twin both call. Gradients are accumulated (+=) into the caller's buffers.
#include <cstdint>
#include <span>

namespace tapegrad::nn::kernels {

/// The sizes of one pooling over the last two dimensions of an input of rank 3 or 4 (checked).
struct Pool2dGeometry {
  int64_t planes = 0;  ///< the product of the leading dimensions (batch x channels)
  ///@{
  /// Each plane's input size.
  int64_t height = 0, width = 0;
  ///@}
  ///@{
  /// Window, step and padding.
  int64_t kernel = 0, stride = 0, padding = 0;
  ///@}
  ///@{
  /// Each plane's output size.
  int64_t out_h = 0, out_w = 0;
  ///@}
};

/// Checks a pooling's input and options (stride 0: the kernel). ShapeError (naming `who`) for an
/// input not of rank 3 or 4, or a kernel larger than the padded input; ValueError for a kernel or
/// stride < 1, or padding < 0 or more than half the kernel (PyTorch's rule).
Pool2dGeometry pool2d_geometry(const char* who, std::span<const int64_t> input, int64_t kernel, int64_t stride,
                               int64_t padding);

/// y = values at each window's maximum of `source` (the first one; NaN counts as the maximum).
/// max pooling is max_pool2d_select(g, x, x, y); with a tangent as `values` it is that tangent.
template <class T>
void max_pool2d_select(const Pool2dGeometry& g, const T* source, const T* values, T* y);

/// Adds each window's dL/dy to dL/dvalues at the window's maximum of `source`.
template <class T>
void max_pool2d_select_backward(const Pool2dGeometry& g, const T* source, const T* grad_y, T* grad_values);

/// y = the mean of each window (the whole window's size when count_include_pad, else its cells
/// inside the input).
template <class T>
void avg_pool2d_forward(const Pool2dGeometry& g, bool count_include_pad, const T* x, T* y);

/// Accumulates dL/dx from dL/dy.
template <class T>
void avg_pool2d_backward(const Pool2dGeometry& g, bool count_include_pad, const T* grad_y, T* grad_x);

/// Adaptive average pooling to out_h x out_w per plane (PyTorch's windows: rows
/// [floor(i H / out_h), ceil((i + 1) H / out_h)), and the same for columns).
template <class T>
void adaptive_avg_pool2d_forward(int64_t planes, int64_t height, int64_t width, int64_t out_h, int64_t out_w,
                                 const T* x, T* y);

/// Accumulates dL/dx from dL/dy.
template <class T>
void adaptive_avg_pool2d_backward(int64_t planes, int64_t height, int64_t width, int64_t out_h, int64_t out_w,
                                  const T* grad_y, T* grad_x);

}  // namespace tapegrad::nn::kernels
