#pragma once
#include "autodiff/tensor.hpp"

namespace tapegrad {

/// Matrix product through the BLAS: [.., m, k] x [.., k, n] -> [.., m, n]. Batch dimensions must
/// be equal, or one side is a plain matrix shared by every batch.
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace tapegrad
