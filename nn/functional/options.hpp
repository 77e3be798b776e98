#pragma once
/// \file
/// Tape-free vocabulary shared by the functional ops, the layers, the seed networks and the
/// closed-form reference.
#include <cstdint>

namespace tapegrad::nn {

/// How a loss combines its per-example (or per-element) terms. The general losses default to mean
/// (the libtorch habit); the seed networks sum over the minibatch (seed eq. 7-9).
enum class Reduction { mean, sum, none };

/// Which loss the seed networks and the closed-form reference compute.
enum class LossKind {
  sse,            // 0.5 ||z - y||^2 per example
  cross_entropy,  // softmax cross-entropy against a class index per example
};

/// How DropConnect draws its connection masks (eq. 11).
enum class MaskMode {
  per_minibatch,  ///< one mask shared by the minibatch (the seed note)
  per_example,    ///< one mask per example (common practice)
};

/// How batch normalisation is differentiated.
enum class BatchNormMode {
  /// Ioffe & Szegedy: differentiate through the batch mean and variance (a true gradient).
  full,
  /// The seed note's variant (eq. 21): batch mean and variance held fixed in the backward pass.
  /// The result is not the gradient of any function (see docs and NOTES-seed.md b).
  seed,
};

/// 2-D convolution (PyTorch's Conv2d arguments, the same along height and width).
struct Conv2dOptions {
  int64_t stride = 1;    ///< step between windows
  int64_t padding = 0;   ///< zeros added on every side
  int64_t dilation = 1;  ///< spacing between a kernel's taps
  int64_t groups = 1;    ///< channel groups: in and out channels both divisible by it
};

/// Max pooling (PyTorch's MaxPool2d arguments; output sizes round down).
struct Pool2dOptions {
  int64_t stride = 0;   ///< 0: the kernel size (PyTorch's default)
  int64_t padding = 0;  ///< implicit -infinity on every side, at most half the kernel
};

/// Average pooling (PyTorch's AvgPool2d arguments; output sizes round down).
struct AvgPool2dOptions {
  int64_t stride = 0;             ///< 0: the kernel size (PyTorch's default)
  int64_t padding = 0;            ///< implicit zeros on every side, at most half the kernel
  bool count_include_pad = true;  ///< divide by the whole window, padded cells included (PyTorch's default)
};

}  // namespace tapegrad::nn
