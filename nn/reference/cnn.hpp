#pragma once
/// \file
/// The hand-derived twin of a convolutional model, written without the tape, as reference::Mlp is
/// for the MLP: the check of the tape's convolution, BatchNorm2d and pooling layers (equal to 1e-12
/// in float64) and the baseline the CNN benchmarks race against. The convolutions and poolings are
/// the kernels the tape's ops call (nn/functional/conv_kernels.hpp, pool_kernels.hpp); batch
/// normalisation per channel (eq. 16-23 over batch x height x width, full or seed mode) and the
/// activations are written out here; the dense head is a reference::Mlp. A warm step (same batch)
/// allocates nothing.
///
/// A block is Conv2d -> [BatchNorm2d] -> activation -> [MaxPool2d], as nn::Sequential{Conv2d(in,
/// out, k, rng, options, bias), BatchNorm2d(out), ReLU(), MaxPool2d(pool)}; after the last block the
/// images are flattened (nn::Flatten) into the head. Arrays are row-major NCHW.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "nn/functional/conv_kernels.hpp"
#include "nn/functional/options.hpp"
#include "nn/functional/pool_kernels.hpp"
#include "nn/reference/mlp.hpp"

namespace tapegrad::nn::reference {

/// One block of the reference CNN.
struct ConvBlockSpec {
  ///@{
  /// Channels in and out, and the square kernel's size.
  int64_t in_channels = 0, out_channels = 0, kernel = 3;
  ///@}
  Conv2dOptions options;                     ///< stride, padding, dilation, groups
  bool bias = true;                          ///< the convolution's bias
  bool batch_norm = false;                   ///< affine BatchNorm2d after the convolution
  Activation activation = Activation::relu;  ///< after the convolution (and batch norm)
  int64_t max_pool = 0;                      ///< MaxPool2d(max_pool) last; 0: none
};

/// A block's parameters, gradients and the step's buffers.
template <class T>
struct ConvBlock {
  ConvBlockSpec spec;  ///< its specification
  ///@{
  /// Parameters and buffers: weight [out, in / groups, k, k], bias [out] (empty without), gamma,
  /// beta, running mean and variance ([out], batch norm).
  std::vector<T> weight, bias, gamma, beta, running_mean, running_var;
  ///@}
  ///@{
  /// Gradients of the parameters, written by each step.
  std::vector<T> grad_weight, grad_bias, grad_gamma, grad_beta;
  ///@}
  ///@{
  /// The step's buffers: z = the convolution, xhat, mean and 1/sigma (batch norm), y = the
  /// activation, pooled = max pooling of y, delta = dL/dz (dL/dy on its way down), grad_output =
  /// dL/d(the block's output), col = the convolution's column scratch.
  std::vector<T> z, xhat, mean, inv_std, y, pooled, delta, grad_output, col;
  ///@}
};

/// The hand-derived CNN: convolution blocks, then a dense reference::Mlp head on the flattened
/// images; mean softmax cross-entropy.
template <class T>
class Cnn {
 public:
  /// Images of `image` = {channels, height, width}. Parameters start at zero (gamma 1, running
  /// variance 1): set them, e.g. copied from the tape model. ValueError when the blocks do not fit
  /// each other, the images, or the head's first width.
  Cnn(std::array<int64_t, 3> image, std::vector<ConvBlockSpec> blocks, std::vector<MlpLayerSpec> head,
      MlpOptions options = {});

  /// The blocks, to set parameters and read gradients.
  std::vector<ConvBlock<T>>& blocks() { return blocks_; }
  /// The dense head (its masks are drawn with head().draw_masks).
  Mlp<T>& head() { return head_; }

  /// One training step's forward and backward pass on x [batch, channels, height, width]: fills
  /// every gradient (overwriting), updates the running statistics, returns the mean cross-entropy.
  double train_step(std::span<const T> x, std::span<const int64_t> labels);

  /// Logits [batch, classes] of the last step.
  std::span<const T> logits() const { return head_.logits(); }

 private:
  void forward_block(ConvBlock<T>& block, const T* x, int64_t batch, std::array<int64_t, 3> in);
  void backward_block(ConvBlock<T>& block, const T* x, int64_t batch, std::array<int64_t, 3> in, T* grad_x);
  const T* output_of(const ConvBlock<T>& block) const;
  std::array<int64_t, 3> image_;
  std::vector<std::array<int64_t, 3>> inputs_;  ///< each block's input image {C, H, W}
  std::vector<ConvBlock<T>> blocks_;
  Mlp<T> head_;
  MlpOptions options_;
};

extern template class Cnn<float>;
extern template class Cnn<double>;

}  // namespace tapegrad::nn::reference
