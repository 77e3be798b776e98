#include "nn/layers/activations.hpp"

#include <fmt/ranges.h>

#include <algorithm>

#include "autodiff/error.hpp"
#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/shape_ops.hpp"

namespace tapegrad::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Softplus::forward(const Tensor& x) { return softplus(x); }
Tensor GELU::forward(const Tensor& x) { return gelu(x); }

Tensor Flatten::forward(const Tensor& x) {
  if (x.rank() < 1) raise<ShapeError>("Flatten: need a batch axis, got a scalar");
  return reshape(x, {x.shape()[0], -1});
}

Tensor Unflatten::forward(const Tensor& x) {
  int64_t product = 1;
  for (const int64_t d : sizes) product *= d;
  if (x.rank() != 2 || x.shape()[1] != product || sizes.empty() || sizes.size() + 1 > size_t(kMaxRank))
    raise<ShapeError>("Unflatten: input must be [batch, {}] to split into [{}], got {}", product,
                      fmt::join(sizes, ", "), x.shape());
  int64_t dims[kMaxRank] = {x.shape()[0]};
  std::copy(sizes.begin(), sizes.end(), dims + 1);
  return reshape(x, std::span<const int64_t>(dims, sizes.size() + 1));
}

}  // namespace tapegrad::nn
