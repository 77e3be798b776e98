#include "nn/reference/cnn.hpp"

#include <algorithm>
#include <cmath>

#include "autodiff/error.hpp"
#include "nn/reference/activation.hpp"

namespace tapegrad::nn::reference {

namespace {

kernels::Conv2dGeometry conv_geometry(const ConvBlockSpec& s, int64_t batch, std::array<int64_t, 3> in) {
  const std::array<int64_t, 4> input{batch, in[0], in[1], in[2]};
  const std::array<int64_t, 4> weight{s.out_channels, s.options.groups > 0 ? s.in_channels / s.options.groups : 0,
                                      s.kernel, s.kernel};
  return kernels::conv2d_geometry("reference::Cnn", input, weight, s.bias ? s.out_channels : -1, s.options);
}

kernels::Pool2dGeometry pool_geometry(const ConvBlockSpec& s, int64_t batch, const kernels::Conv2dGeometry& conv) {
  const std::array<int64_t, 4> input{batch, conv.out_channels, conv.out_h, conv.out_w};
  return kernels::pool2d_geometry("reference::Cnn", input, s.max_pool, s.max_pool, 0);
}

// The block's output image {C, H, W} for its input image.
std::array<int64_t, 3> output_image(const ConvBlockSpec& s, std::array<int64_t, 3> in) {
  const kernels::Conv2dGeometry conv = conv_geometry(s, 1, in);
  if (s.max_pool == 0) return {conv.out_channels, conv.out_h, conv.out_w};
  const kernels::Pool2dGeometry pool = pool_geometry(s, 1, conv);
  return {conv.out_channels, pool.out_h, pool.out_w};
}

template <class T>
void resize(std::vector<T>& v, int64_t n) {
  v.resize(static_cast<size_t>(n));
}

}  // namespace

template <class T>
Cnn<T>::Cnn(std::array<int64_t, 3> image, std::vector<ConvBlockSpec> specs, std::vector<MlpLayerSpec> head,
            MlpOptions options)
    : image_(image), head_(std::move(head), options), options_(options) {
  if (specs.empty()) raise<ValueError>("reference::Cnn: no convolution blocks");
  std::array<int64_t, 3> in = image;
  for (size_t b = 0; b < specs.size(); ++b) {
    const ConvBlockSpec& s = specs[b];
    if (s.in_channels != in[0])
      raise<ValueError>("reference::Cnn: block {} takes {} channels, its input has {}", b, s.in_channels, in[0]);
    if (s.max_pool < 0) raise<ValueError>("reference::Cnn: block {} has max pooling {}", b, s.max_pool);
    inputs_.push_back(in);
    in = output_image(s, in);  // checks the block's convolution and pooling against its input
    ConvBlock<T> block;
    block.spec = s;
    const int64_t out = s.out_channels;
    resize(block.weight, out * (s.in_channels / s.options.groups) * s.kernel * s.kernel);
    resize(block.grad_weight, int64_t(block.weight.size()));
    if (s.bias) {
      block.bias.assign(size_t(out), T(0));
      block.grad_bias.assign(size_t(out), T(0));
    }
    if (s.batch_norm) {
      block.gamma.assign(size_t(out), T(1));
      block.beta.assign(size_t(out), T(0));
      block.grad_gamma.assign(size_t(out), T(0));
      block.grad_beta.assign(size_t(out), T(0));
      block.running_mean.assign(size_t(out), T(0));
      block.running_var.assign(size_t(out), T(1));
      block.mean.assign(size_t(out), T(0));
      block.inv_std.assign(size_t(out), T(0));
    }
    blocks_.push_back(std::move(block));
  }
  const int64_t features = in[0] * in[1] * in[2];
  if (head_.layers().front().spec.in != features)
    raise<ValueError>("reference::Cnn: the head takes {} features, the last block gives {} ({} x {} x {})",
                      head_.layers().front().spec.in, features, in[0], in[1], in[2]);
}

template <class T>
const T* Cnn<T>::output_of(const ConvBlock<T>& block) const {
  return block.spec.max_pool > 0 ? block.pooled.data() : block.y.data();
}

template <class T>
void Cnn<T>::forward_block(ConvBlock<T>& block, const T* x, int64_t batch, std::array<int64_t, 3> in) {
  const kernels::Conv2dGeometry g = conv_geometry(block.spec, batch, in);
  const int64_t channels = g.out_channels, plane = g.out_h * g.out_w, n = batch * channels * plane;
  resize(block.z, n);
  resize(block.y, n);
  const kernels::ConvThreads threads{.count = options_.blas_threads};  // the images in turn
  resize(block.col,
         std::max(kernels::conv2d_forward_scratch(g, threads), kernels::conv2d_backward_scratch(g, threads)));
  kernels::conv2d_forward(g, x, block.weight.data(), block.spec.bias ? block.bias.data() : nullptr, block.z.data(),
                          block.col.data(), threads);
  if (block.spec.batch_norm) {  // eq. 17-19 per channel, over batch x height x width
    const int64_t m = batch * plane;
    if (m < 2 && options_.batch_norm_mode == BatchNormMode::full)
      raise<ValueError>("reference::Cnn: full-mode batch norm needs more than one value per channel, got {}", m);
    resize(block.xhat, n);
    const T mom = static_cast<T>(options_.momentum), unbias = m > 1 ? T(m) / T(m - 1) : T(1);
    for (int64_t c = 0; c < channels; ++c) {
      T sum = 0;
      for (int64_t i = 0; i < batch; ++i) {
        const T* z = block.z.data() + (i * channels + c) * plane;
#pragma omp simd reduction(+ : sum)
        for (int64_t k = 0; k < plane; ++k) sum += z[k];
      }
      const T mu = sum / T(m);
      T squares = 0;
      for (int64_t i = 0; i < batch; ++i) {
        const T* z = block.z.data() + (i * channels + c) * plane;
#pragma omp simd reduction(+ : squares)
        for (int64_t k = 0; k < plane; ++k) squares += (z[k] - mu) * (z[k] - mu);
      }
      const T var = squares / T(m), inv = T(1) / std::sqrt(var + static_cast<T>(options_.eps));
      block.mean[size_t(c)] = mu;
      block.inv_std[size_t(c)] = inv;
      block.running_mean[size_t(c)] = (1 - mom) * block.running_mean[size_t(c)] + mom * mu;
      block.running_var[size_t(c)] = (1 - mom) * block.running_var[size_t(c)] + mom * var * unbias;
      const T gamma = block.gamma[size_t(c)], beta = block.beta[size_t(c)];
      for (int64_t i = 0; i < batch; ++i) {
        const int64_t at = (i * channels + c) * plane;
        const T* z = block.z.data() + at;
        T* xhat = block.xhat.data() + at;
        T* y = block.y.data() + at;
#pragma omp simd
        for (int64_t k = 0; k < plane; ++k) {
          xhat[k] = (z[k] - mu) * inv;
          y[k] = gamma * xhat[k] + beta;
        }
      }
    }
  } else {
    std::copy(block.z.begin(), block.z.end(), block.y.begin());
  }
  activate_in_place(block.spec.activation, block.y.data(), size_t(n));
  if (block.spec.max_pool > 0) {
    const kernels::Pool2dGeometry pool = pool_geometry(block.spec, batch, g);
    resize(block.pooled, pool.planes * pool.out_h * pool.out_w);
    kernels::max_pool2d_select(pool, block.y.data(), block.y.data(), block.pooled.data());
  }
}

template <class T>
void Cnn<T>::backward_block(ConvBlock<T>& block, const T* x, int64_t batch, std::array<int64_t, 3> in, T* grad_x) {
  const kernels::Conv2dGeometry g = conv_geometry(block.spec, batch, in);
  const int64_t channels = g.out_channels, plane = g.out_h * g.out_w, n = batch * channels * plane;
  resize(block.delta, n);
  T* d = block.delta.data();
  if (block.spec.max_pool > 0) {  // dL/dy: each window's gradient to its maximum
    std::fill(d, d + n, T(0));
    kernels::max_pool2d_select_backward(pool_geometry(block.spec, batch, g), block.y.data(), block.grad_output.data(),
                                        d);
  } else {
    std::copy(block.grad_output.begin(), block.grad_output.end(), d);
  }
  times_slope(block.spec.activation, block.y.data(), d, size_t(n));  // sigma' dL/dy (eq. 4-5)
  if (block.spec.batch_norm) {                                       // eq. 20-23 per channel
    const T m = T(batch * plane);
    for (int64_t c = 0; c < channels; ++c) {
      T gg = 0, gb = 0;
      for (int64_t i = 0; i < batch; ++i) {
        const int64_t at = (i * channels + c) * plane;
        const T* dc = d + at;
        const T* xhat = block.xhat.data() + at;
#pragma omp simd reduction(+ : gg, gb)
        for (int64_t k = 0; k < plane; ++k) {
          gg += dc[k] * xhat[k];
          gb += dc[k];
        }
      }
      block.grad_gamma[size_t(c)] = gg;
      block.grad_beta[size_t(c)] = gb;
      const T gamma = block.gamma[size_t(c)], inv = block.inv_std[size_t(c)];
      // full: lambda = (1/sigma) (gamma dL/dy - mean(gamma dL/dy) - xhat mean(gamma dL/dy xhat));
      // seed (eq. 21): the statistics held fixed, lambda = gamma dL/dy / sigma.
      const bool full = options_.batch_norm_mode == BatchNormMode::full;
      const T mean_l = full ? gamma * gb / m : T(0), mean_lx = full ? gamma * gg / m : T(0);
      for (int64_t i = 0; i < batch; ++i) {
        const int64_t at = (i * channels + c) * plane;
        T* dc = d + at;
        const T* xhat = block.xhat.data() + at;
#pragma omp simd
        for (int64_t k = 0; k < plane; ++k) dc[k] = inv * (gamma * dc[k] - mean_l - xhat[k] * mean_lx);
      }
    }
  }
  std::fill(block.grad_weight.begin(), block.grad_weight.end(), T(0));
  if (block.spec.bias) std::fill(block.grad_bias.begin(), block.grad_bias.end(), T(0));
  if (grad_x) std::fill(grad_x, grad_x + batch * in[0] * in[1] * in[2], T(0));
  kernels::conv2d_backward(g, x, block.weight.data(), d, grad_x, block.grad_weight.data(),
                           block.spec.bias ? block.grad_bias.data() : nullptr, block.col.data(),
                           {.count = options_.blas_threads});
}

template <class T>
double Cnn<T>::train_step(std::span<const T> x, std::span<const int64_t> labels) {
  const auto batch = static_cast<int64_t>(labels.size());
  const int64_t image = image_[0] * image_[1] * image_[2];
  if (batch < 1 || static_cast<int64_t>(x.size()) != batch * image)
    raise<ShapeError>("reference::Cnn: x has {} values for {} labels of {} x {} x {} images", x.size(), batch,
                      image_[0], image_[1], image_[2]);
  const T* input = x.data();
  for (size_t b = 0; b < blocks_.size(); ++b) {
    forward_block(blocks_[b], input, batch, inputs_[b]);
    input = output_of(blocks_[b]);
  }
  ConvBlock<T>& last = blocks_.back();
  resize(last.grad_output, last.spec.max_pool > 0 ? int64_t(last.pooled.size()) : int64_t(last.y.size()));
  const double loss =
      head_.train_step(std::span<const T>(input, last.grad_output.size()), labels, std::span<T>(last.grad_output));
  for (size_t b = blocks_.size(); b-- > 0;) {
    T* grad_x = nullptr;
    if (b > 0) {
      ConvBlock<T>& below = blocks_[b - 1];
      resize(below.grad_output, below.spec.max_pool > 0 ? int64_t(below.pooled.size()) : int64_t(below.y.size()));
      grad_x = below.grad_output.data();
    }
    backward_block(blocks_[b], b == 0 ? x.data() : output_of(blocks_[b - 1]), batch, inputs_[b], grad_x);
  }
  return loss;
}

template class Cnn<float>;
template class Cnn<double>;

}  // namespace tapegrad::nn::reference
