#include "nn/layers/conv.hpp"

#include <cmath>

#include "autodiff/error.hpp"
#include "nn/functional/conv.hpp"

namespace tapegrad::nn {

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, std::mt19937_64& rng,
               const Conv2dOptions& opts, bool with_bias)
    : options(opts) {
  if (in_channels < 1 || out_channels < 1 || kernel_size < 1)
    raise<ValueError>("Conv2d: channels and kernel size must be positive, got in {}, out {}, kernel {}", in_channels,
                      out_channels, kernel_size);
  if (opts.groups < 1 || in_channels % opts.groups != 0 || out_channels % opts.groups != 0)
    raise<ValueError>("Conv2d: in channels {} and out channels {} must both be divisible by groups {}", in_channels,
                      out_channels, opts.groups);
  if (opts.stride < 1 || opts.dilation < 1 || opts.padding < 0)
    raise<ValueError>("Conv2d: stride and dilation must be at least 1 and padding at least 0, got {}, {}, {}",
                      opts.stride, opts.dilation, opts.padding);
  const int64_t fan_in = in_channels / opts.groups * kernel_size * kernel_size;
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  weight = Tensor::uniform({out_channels, in_channels / opts.groups, kernel_size, kernel_size}, rng, -bound, bound);
  register_parameter("weight", weight);
  if (with_bias) {
    bias = Tensor::uniform({out_channels}, rng, -bound, bound);
    register_parameter("bias", bias);
  }
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, options); }

}  // namespace tapegrad::nn
