#include "nn/layers/pool.hpp"

#include "nn/functional/pool.hpp"

namespace tapegrad::nn {

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel_size, options); }
Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, kernel_size, options); }
Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, out_h, out_w); }

}  // namespace tapegrad::nn
