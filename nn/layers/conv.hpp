#pragma once
/// \file
/// Conv2d: 2-D convolution over NCHW input with PyTorch's parameters (weight [out_channels,
/// in_channels / groups, kernel, kernel], bias [out_channels]) and default initialisation (both
/// ~ Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels / groups * kernel^2, drawn
/// from the caller's generator).
#include <random>

#include "nn/functional/options.hpp"
#include "nn/layers/module.hpp"

namespace tapegrad::nn {

/// y = conv2d(x, weight, bias, options) (nn/functional/conv.hpp).
class Conv2d : public Module {
 public:
  /// ValueError for a non-positive size, bad options, or channels not divisible by groups.
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, std::mt19937_64& rng,
         const Conv2dOptions& options = {}, bool bias = true);
  Tensor forward(const Tensor& x) override;

  Tensor weight;          ///< [out_channels, in_channels / groups, kernel_size, kernel_size]
  Tensor bias;            ///< [out_channels], undefined without bias
  Conv2dOptions options;  ///< stride, padding, dilation, groups
};

}  // namespace tapegrad::nn
