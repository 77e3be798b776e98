#include "autodiff/ops/softmax.hpp"

#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/reduce.hpp"

namespace tapegrad {

Tensor log_softmax(const Tensor& x, int axis) { return x - logsumexp(x, {axis}, true); }

Tensor softmax(const Tensor& x, int axis) { return exp(log_softmax(x, axis)); }

}  // namespace tapegrad
