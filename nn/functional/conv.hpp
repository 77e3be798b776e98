#pragma once
/// \file
/// 2-D convolution as one tape op (NCHW, PyTorch's Conv2d): im2col + the shared GEMM, through the
/// tape-free kernels of nn/functional/conv_kernels.hpp that the hand-derived CNN twin calls too.
#include "autodiff/tensor.hpp"
#include "nn/functional/options.hpp"

namespace tapegrad::nn {

/// x [batch, in_channels, H, W], weight [out_channels, in_channels / groups, kh, kw], bias
/// [out_channels] or undefined -> [batch, out_channels, out_h, out_w] with out_h = (H + 2 padding -
/// dilation (kh - 1) - 1) / stride + 1 (rounded down), and the same for the width. Bad shapes get a
/// ShapeError naming both shapes.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dOptions& options = {});

}  // namespace tapegrad::nn
