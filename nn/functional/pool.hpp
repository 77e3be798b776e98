#pragma once
/// \file
/// 2-D pooling over the last two dimensions (input [batch, channels, H, W] or [channels, H, W]) as
/// tape ops, PyTorch's semantics: output sizes round down, max pooling pads with -infinity and
/// takes a window's first maximum (a NaN wins), average pooling counts padded cells unless told
/// not to. Kernels: nn/functional/pool_kernels.hpp, shared with the hand-derived CNN twin.
#include "autodiff/tensor.hpp"
#include "nn/functional/options.hpp"

namespace tapegrad::nn {

/// The maximum of each kernel x kernel window (stride: the kernel unless given).
Tensor max_pool2d(const Tensor& x, int64_t kernel, const Pool2dOptions& options = {});

/// The mean of each kernel x kernel window (stride: the kernel unless given).
Tensor avg_pool2d(const Tensor& x, int64_t kernel, const AvgPool2dOptions& options = {});

/// The mean over adaptive windows giving an out_h x out_w output per plane (PyTorch's
/// AdaptiveAvgPool2d; 1 x 1 is global average pooling).
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);

}  // namespace tapegrad::nn
