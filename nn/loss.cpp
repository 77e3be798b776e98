#include "nn/loss.hpp"

#include "autodiff/error.hpp"
#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/reduce.hpp"
#include "autodiff/ops/shape_ops.hpp"
#include "autodiff/ops/softmax.hpp"

namespace tapegrad::nn {

namespace {
Tensor reduce(const Tensor& total, int64_t batch, Reduction reduction) {
  return reduction == Reduction::sum ? total : total * (1.0 / static_cast<double>(batch));
}
}  // namespace

Tensor sse_loss(const Tensor& prediction, const Tensor& target, Reduction reduction) {
  if (!(prediction.shape() == target.shape()))
    raise<ShapeError>("sse_loss: prediction and target shapes differ, got {} and {}", prediction.shape(),
                      target.shape());
  const int64_t batch = prediction.rank() == 0 ? 1 : prediction.shape()[0];
  return reduce(sum(square(prediction - target)) * 0.5, batch, reduction);
}

Tensor cross_entropy(const Tensor& logits, std::span<const int64_t> targets, Reduction reduction) {
  if (logits.rank() != 2) raise<ShapeError>("cross_entropy: logits must be [batch, classes], got {}", logits.shape());
  const int64_t m = logits.shape()[0];
  if (static_cast<int64_t>(targets.size()) != m)
    raise<ShapeError>("cross_entropy: {} targets for logits {}", targets.size(), logits.shape());
  const Tensor picked = gather(log_softmax(logits, 1), 1, targets, Shape{m, 1});
  return reduce(-sum(picked), m, reduction);
}

}  // namespace tapegrad::nn
