#pragma once
/// \file
/// Pooling layers (no parameters): MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, PyTorch's arguments
/// and defaults (stride = kernel; average pooling counts padded cells).
#include "nn/functional/options.hpp"
#include "nn/layers/module.hpp"

namespace tapegrad::nn {

/// max_pool2d(x, kernel, options).
struct MaxPool2d : Module {
  /// A kernel x kernel window; options.stride 0 means the kernel.
  explicit MaxPool2d(int64_t kernel, const Pool2dOptions& opts = {}) : kernel_size(kernel), options(opts) {}
  Tensor forward(const Tensor& x) override;
  int64_t kernel_size;    ///< window side
  Pool2dOptions options;  ///< stride, padding
};

/// avg_pool2d(x, kernel, options).
struct AvgPool2d : Module {
  /// A kernel x kernel window; options.stride 0 means the kernel.
  explicit AvgPool2d(int64_t kernel, const AvgPool2dOptions& opts = {}) : kernel_size(kernel), options(opts) {}
  Tensor forward(const Tensor& x) override;
  int64_t kernel_size;       ///< window side
  AvgPool2dOptions options;  ///< stride, padding, count_include_pad
};

/// adaptive_avg_pool2d(x, out_h, out_w): 1 is global average pooling.
struct AdaptiveAvgPool2d : Module {
  /// A square output_size x output_size output.
  explicit AdaptiveAvgPool2d(int64_t output_size) : out_h(output_size), out_w(output_size) {}
  /// An out_height x out_width output.
  AdaptiveAvgPool2d(int64_t out_height, int64_t out_width) : out_h(out_height), out_w(out_width) {}
  Tensor forward(const Tensor& x) override;
  ///@{
  /// Output size per plane.
  int64_t out_h, out_w;
  ///@}
};

}  // namespace tapegrad::nn
