#pragma once
/// \file
/// 2-D convolution on raw NCHW buffers, written without the tape: the one implementation that the
/// tape's op (nn/functional/conv.hpp) and the hand-derived CNN twin both call, as blas.hpp is for
/// the products. im2col + GEMM, per image and group: the group's weights [out/groups, C/groups *
/// kh * kw] times a column buffer [C/groups * kh * kw, out_h * out_w]. Gradients are accumulated
/// (+=) into the caller's buffers. With several threads, each takes a share of the batch's images
/// (its own column buffer and weight-gradient sums) and its products run on one thread.
#include <cstdint>
#include <span>

#include "nn/functional/options.hpp"

namespace tapegrad::nn::kernels {

/// The sizes of one convolution, checked (conv2d_geometry).
struct Conv2dGeometry {
  ///@{
  /// Input [batch, in_channels, height, width].
  int64_t batch = 0, in_channels = 0, height = 0, width = 0;
  ///@}
  ///@{
  /// Weight [out_channels, in_channels / groups, kernel_h, kernel_w].
  int64_t out_channels = 0, kernel_h = 0, kernel_w = 0;
  ///@}
  ///@{
  /// Output [batch, out_channels, out_h, out_w].
  int64_t out_h = 0, out_w = 0;
  ///@}
  Conv2dOptions options;  ///< stride, padding, dilation, groups
  /// Input channels per group.
  int64_t group_in() const { return in_channels / options.groups; }
  /// Output channels per group.
  int64_t group_out() const { return out_channels / options.groups; }
  /// Rows of the column buffer: one per (channel of the group, kernel tap).
  int64_t col_rows() const { return group_in() * kernel_h * kernel_w; }
  /// Columns of the column buffer: one per output position.
  int64_t col_cols() const { return out_h * out_w; }
  /// Elements of the column buffer the kernels need (0 for a 1x1 convolution of stride 1 without
  /// padding, which reads the input in place).
  int64_t col_size() const;
};

/// Runs body(ctx, begin, end) over chunks covering [0, n), possibly in parallel: how the kernels
/// reach the caller's threads (the tape passes autodiff's pool).
using ChunkLoop = void (*)(int64_t n, void (*body)(void* ctx, int64_t begin, int64_t end), void* ctx);

/// The threads one convolution may use: `count` in all. With a loop, a convolution of at least
/// kConvShareWork multiply-adds splits its images into up to `count` shares run on the loop; else
/// its images run in turn, each product on `count` BLAS threads.
struct ConvThreads {
  int count = 1;             ///< threads in all
  ChunkLoop loop = nullptr;  ///< the caller's parallel loop; null: images in turn
};

/// Multiply-adds (one pass) from which a convolution's images are split across threads.
inline constexpr int64_t kConvShareWork = int64_t{1} << 22;

/// How many shares of the images a convolution runs as (1: the images in turn).
int64_t conv2d_shares(const Conv2dGeometry& g, const ConvThreads& threads);
/// Scratch elements conv2d_forward needs: a column buffer per share.
int64_t conv2d_forward_scratch(const Conv2dGeometry& g, const ConvThreads& threads);
/// Scratch elements conv2d_backward needs: a column buffer per share and, for each share after the
/// first, its own dL/dW and dL/db sums.
int64_t conv2d_backward_scratch(const Conv2dGeometry& g, const ConvThreads& threads);

/// Checks a convolution's shapes and options and returns its sizes. ShapeError (naming `who`, the
/// layer, and both shapes) for an input that is not 4-D, a weight that is not [out, in / groups,
/// kh, kw], channels not divisible by groups, a bias (bias_size >= 0) that is not [out], or a
/// kernel larger than the padded input; ValueError for stride or dilation < 1, padding < 0,
/// groups < 1.
Conv2dGeometry conv2d_geometry(const char* who, std::span<const int64_t> input, std::span<const int64_t> weight,
                               int64_t bias_size, const Conv2dOptions& options);

/// y = conv(x, w) + b (b may be null). scratch: conv2d_forward_scratch(g, threads) elements.
template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y, T* scratch,
                    const ConvThreads& threads);

/// Accumulates dL/dx, dL/dw and dL/db (each may be null: not wanted) from dL/dy. scratch:
/// conv2d_backward_scratch(g, threads) elements.
template <class T>
void conv2d_backward(const Conv2dGeometry& g, const T* x, const T* w, const T* grad_y, T* grad_x, T* grad_w, T* grad_b,
                     T* scratch, const ConvThreads& threads);

}  // namespace tapegrad::nn::kernels
