#include "nn/reference/mlp.hpp"

#include <algorithm>
#include <cmath>

#include "autodiff/blas.hpp"
#include "autodiff/error.hpp"
#include "nn/functional/random.hpp"

namespace tapegrad::nn::reference {

namespace {

using blas::gemm;

}  // namespace

template <class T>
Mlp<T>::Mlp(std::vector<MlpLayerSpec> specs, MlpOptions options) : options_(options) {
  if (specs.empty()) raise<ValueError>("reference::Mlp: no layers");
  if (!(options.eps > 0.0 && std::isfinite(options.eps)) || !(options.momentum >= 0.0 && options.momentum <= 1.0))
    raise<ValueError>("reference::Mlp: batch-norm eps {} or momentum {} out of range", options.eps, options.momentum);
  if (options.blas_threads < 1)
    raise<ValueError>("reference::Mlp: blas_threads must be at least 1, got {}", options.blas_threads);
  for (size_t l = 0; l < specs.size(); ++l) {
    const MlpLayerSpec& s = specs[l];
    if (s.in < 1 || s.out < 1) raise<ValueError>("reference::Mlp: layer {} is {} -> {}", l, s.in, s.out);
    if (l > 0 && s.in != specs[l - 1].out)
      raise<ValueError>("reference::Mlp: layer {} takes {} inputs, the layer below gives {}", l, s.in,
                        specs[l - 1].out);
    if (!(s.dropout >= 0.0 && s.dropout < 1.0) || !(s.dropconnect_keep > 0.0 && s.dropconnect_keep <= 1.0))
      raise<ValueError>("reference::Mlp: layer {} has dropout {} / DropConnect keep {}", l, s.dropout,
                        s.dropconnect_keep);
    const bool last = l + 1 == specs.size();
    if (last && (s.batch_norm || s.dropout > 0.0))
      raise<ValueError>("reference::Mlp: the last layer gives logits: no batch norm or dropout");
    MlpLayer<T> layer;
    layer.spec = s;
    const auto out = static_cast<size_t>(s.out), w = static_cast<size_t>(s.in * s.out);
    layer.weight.assign(w, T(0));
    layer.grad_weight.assign(w, T(0));
    layer.bias.assign(out, T(0));
    layer.grad_bias.assign(out, T(0));
    if (s.batch_norm) {
      layer.gamma.assign(out, T(1));
      layer.beta.assign(out, T(0));
      layer.grad_gamma.assign(out, T(0));
      layer.grad_beta.assign(out, T(0));
      layer.running_mean.assign(out, T(0));
      layer.running_var.assign(out, T(1));
      layer.inv_std.assign(out, T(0));
      layer.mean.assign(out, T(0));
    }
    if (s.dropconnect_keep < 1.0) {
      layer.dropconnect_mask.assign(w, T(1));
      layer.masked_weight.assign(w, T(0));
    }
    layers_.push_back(std::move(layer));
  }
}

template <class T>
void Mlp<T>::draw_masks(int64_t batch, std::span<std::mt19937_64> generators) {
  size_t next = 0;
  auto generator = [&]() -> std::mt19937_64& {
    if (next == generators.size()) raise<ValueError>("reference::Mlp::draw_masks: too few generators");
    return generators[next++];
  };
  for (MlpLayer<T>& layer : layers_) {
    if (layer.spec.dropconnect_keep < 1.0) {  // eq. 10: r ~ Bernoulli(p)
      std::mt19937_64& rng = generator();
      draw_mask(layer.dropconnect_mask.data(), static_cast<int64_t>(layer.dropconnect_mask.size()),
                1.0 - layer.spec.dropconnect_keep, T(1), rng);
    }
    if (layer.spec.dropout > 0.0) {
      std::mt19937_64& rng = generator();
      const T scale = static_cast<T>(1.0 / (1.0 - layer.spec.dropout));
      layer.dropout_mask.resize(static_cast<size_t>(batch * layer.spec.out));
      draw_mask(layer.dropout_mask.data(), batch * layer.spec.out, layer.spec.dropout, scale, rng);
    }
  }
}

template <class T>
void Mlp<T>::forward_layer(MlpLayer<T>& layer, const T* h, int64_t m, bool last) {
  const int64_t in = layer.spec.in, out = layer.spec.out;
  const size_t n = static_cast<size_t>(m * out);
  const T* w = layer.weight.data();
  if (layer.spec.dropconnect_keep < 1.0) {  // W~ = W o R (eq. 11)
    for (size_t i = 0; i < layer.weight.size(); ++i)
      layer.masked_weight[i] = layer.weight[i] * layer.dropconnect_mask[i];
    w = layer.masked_weight.data();
  }
  layer.z.resize(n);
  for (int64_t i = 0; i < m; ++i) std::copy(layer.bias.begin(), layer.bias.end(), layer.z.begin() + i * out);
  // psi = h W~^T + b (eq. 1)
  gemm(false, true, m, out, in, h, in, w, in, T(1), layer.z.data(), out, options_.blas_threads);
  if (last) return;
  layer.y.resize(n);
  if (layer.spec.batch_norm) {  // eq. 17-19: psihat = (psi - mu) / sqrt(var + eps); y = gamma psihat + theta
    if (m < 2 && options_.batch_norm_mode == BatchNormMode::full)
      raise<ValueError>("reference::Mlp: full-mode batch norm needs a batch of at least 2, got {}", m);
    layer.xhat.resize(n);
    T* mu = layer.mean.data();
    T* inv = layer.inv_std.data();  // the variance until the end of the statistics pass
    std::fill(mu, mu + out, T(0));
    std::fill(inv, inv + out, T(0));
    const T* z = layer.z.data();
    for (int64_t i = 0; i < m; ++i)
#pragma omp simd
      for (int64_t j = 0; j < out; ++j) mu[j] += z[i * out + j];
    for (int64_t j = 0; j < out; ++j) mu[j] /= static_cast<T>(m);
    for (int64_t i = 0; i < m; ++i)
#pragma omp simd
      for (int64_t j = 0; j < out; ++j) inv[j] += (z[i * out + j] - mu[j]) * (z[i * out + j] - mu[j]);
    const T mom = static_cast<T>(options_.momentum);
    const T unbias = m > 1 ? static_cast<T>(m) / static_cast<T>(m - 1) : T(1);
    for (int64_t j = 0; j < out; ++j) {
      inv[j] /= static_cast<T>(m);
      layer.running_mean[j] = (1 - mom) * layer.running_mean[j] + mom * mu[j];
      layer.running_var[j] = (1 - mom) * layer.running_var[j] + mom * inv[j] * unbias;
      inv[j] = T(1) / std::sqrt(inv[j] + static_cast<T>(options_.eps));
    }
    const T* g = layer.gamma.data();
    const T* b = layer.beta.data();
    for (int64_t i = 0; i < m; ++i)
#pragma omp simd
      for (int64_t j = 0; j < out; ++j) {
        layer.xhat[i * out + j] = (z[i * out + j] - mu[j]) * inv[j];
        layer.y[i * out + j] = g[j] * layer.xhat[i * out + j] + b[j];
      }
  } else {
    std::copy(layer.z.begin(), layer.z.end(), layer.y.begin());
  }
  activate_in_place(layer.spec.activation, layer.y.data(), n);  // o = sigma(psihat) (eq. 16)
}

template <class T>
void Mlp<T>::backward_layer(MlpLayer<T>& layer, const T* h, int64_t m, T* delta_below) {
  const int64_t in = layer.spec.in, out = layer.spec.out;
  T* d = layer.delta.data();  // dL/d(layer output) on entry for hidden layers; dL/dpsi below
  if (!layer.y.empty()) {
    const size_t n = static_cast<size_t>(m * out);
    if (layer.spec.dropout > 0.0)
#pragma omp simd
      for (size_t i = 0; i < n; ++i) d[i] *= layer.dropout_mask[i];
    times_slope(layer.spec.activation, layer.y.data(), d, n);  // lambdahat = sigma' dL/do (eq. 4-5)
    if (layer.spec.batch_norm) {                               // eq. 20-23
      T* gg = layer.grad_gamma.data();
      T* gb = layer.grad_beta.data();
      std::fill(gg, gg + out, T(0));
      std::fill(gb, gb + out, T(0));
      const T* xh = layer.xhat.data();
      for (int64_t i = 0; i < m; ++i)
#pragma omp simd
        for (int64_t j = 0; j < out; ++j) {
          gg[j] += d[i * out + j] * xh[i * out + j];
          gb[j] += d[i * out + j];
        }
      const T* g = layer.gamma.data();
      const T* inv = layer.inv_std.data();
      if (options_.batch_norm_mode == BatchNormMode::full) {
        // lambda = (1/sigma) (lhat - mean(lhat) - psihat mean(lhat psihat)), lhat = gamma dL/dy;
        // mean(lhat) = gamma gb / m, mean(lhat psihat) = gamma gg / m.
        for (int64_t i = 0; i < m; ++i)
#pragma omp simd
          for (int64_t j = 0; j < out; ++j) {
            const T mean_l = g[j] * gb[j] / static_cast<T>(m), mean_lx = g[j] * gg[j] / static_cast<T>(m);
            d[i * out + j] = inv[j] * (g[j] * d[i * out + j] - mean_l - xh[i * out + j] * mean_lx);
          }
      } else {  // seed mode (eq. 21): batch statistics held fixed
        for (int64_t i = 0; i < m; ++i)
#pragma omp simd
          for (int64_t j = 0; j < out; ++j) d[i * out + j] *= inv[j] * g[j];
      }
    }
  }
  // dL/dW = lambda^T h (eq. 2, 12), dL/dbeta = column sums of lambda (eq. 3), dL/dh = lambda W~.
  gemm(true, false, out, in, m, d, out, h, in, T(0), layer.grad_weight.data(), in, options_.blas_threads);
  if (layer.spec.dropconnect_keep < 1.0)
    for (size_t i = 0; i < layer.grad_weight.size(); ++i) layer.grad_weight[i] *= layer.dropconnect_mask[i];
  std::fill(layer.grad_bias.begin(), layer.grad_bias.end(), T(0));
  for (int64_t i = 0; i < m; ++i)
#pragma omp simd
    for (int64_t j = 0; j < out; ++j) layer.grad_bias[j] += d[i * out + j];
  if (delta_below) {
    const T* w = layer.spec.dropconnect_keep < 1.0 ? layer.masked_weight.data() : layer.weight.data();
    gemm(false, false, m, in, out, d, out, w, in, T(0), delta_below, in, options_.blas_threads);
  }
}

template <class T>
const T* Mlp<T>::input_of(std::span<const T> x, size_t l) const {
  if (l == 0) return x.data();
  const MlpLayer<T>& below = layers_[l - 1];
  return below.spec.dropout > 0.0 ? below.dropped.data() : below.y.data();
}

template <class T>
double Mlp<T>::train_step(std::span<const T> x, std::span<const int64_t> labels) {
  return train_step(x, labels, std::span<T>());
}

template <class T>
double Mlp<T>::train_step(std::span<const T> x, std::span<const int64_t> labels, std::span<T> grad_x) {
  const auto m = static_cast<int64_t>(labels.size());
  const int64_t classes = layers_.back().spec.out;
  if (m < 1 || static_cast<int64_t>(x.size()) != m * layers_.front().spec.in)
    raise<ShapeError>("reference::Mlp: x has {} values for {} labels of {} features", x.size(), m,
                      layers_.front().spec.in);
  if (!grad_x.empty() && grad_x.size() != x.size())
    raise<ShapeError>("reference::Mlp: dL/dx has {} values for x's {}", grad_x.size(), x.size());
  for (size_t l = 0; l < layers_.size(); ++l)
    if (layers_[l].spec.dropout > 0.0 &&
        static_cast<int64_t>(layers_[l].dropout_mask.size()) != m * layers_[l].spec.out)
      raise<ValueError>("reference::Mlp: layer {} has no dropout mask for a batch of {} (draw_masks)", l, m);
  for (size_t l = 0; l < layers_.size(); ++l) {
    forward_layer(layers_[l], input_of(x, l), m, l + 1 == layers_.size());
    MlpLayer<T>& layer = layers_[l];
    if (layer.spec.dropout > 0.0) {  // the layer's output: o times its mask
      layer.dropped.resize(layer.y.size());
      for (size_t i = 0; i < layer.y.size(); ++i) layer.dropped[i] = layer.y[i] * layer.dropout_mask[i];
    }
  }
  // Mean softmax cross-entropy and lambda at the logits: (softmax(z) - onehot) / m.
  MlpLayer<T>& top = layers_.back();
  top.delta.resize(top.z.size());
  double loss = 0;
  for (int64_t i = 0; i < m; ++i) {
    if (labels[i] < 0 || labels[i] >= classes)
      raise<ValueError>("reference::Mlp: label {} is {}, not in [0, {})", i, labels[i], classes);
    const T* z = top.z.data() + i * classes;
    T* d = top.delta.data() + i * classes;
    const T zmax = *std::max_element(z, z + classes);
    double sum = 0;
    for (int64_t j = 0; j < classes; ++j) sum += std::exp(double(z[j] - zmax));
    loss += double(zmax) + std::log(sum) - double(z[labels[i]]);
    for (int64_t j = 0; j < classes; ++j)
      d[j] = static_cast<T>((std::exp(double(z[j] - zmax)) / sum - (j == labels[i] ? 1.0 : 0.0)) / double(m));
  }
  // Backward, top to bottom; each layer writes dL/d(output) of the one below into its delta.
  for (size_t l = layers_.size(); l-- > 0;) {
    T* below = grad_x.empty() ? nullptr : grad_x.data();
    if (l > 0) {
      layers_[l - 1].delta.resize(static_cast<size_t>(m * layers_[l - 1].spec.out));
      below = layers_[l - 1].delta.data();
    }
    backward_layer(layers_[l], input_of(x, l), m, below);
  }
  return loss / double(m);
}

template class Mlp<float>;
template class Mlp<double>;

}  // namespace tapegrad::nn::reference
