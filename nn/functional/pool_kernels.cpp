#include "nn/functional/pool_kernels.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "autodiff/error.hpp"

namespace tapegrad::nn::kernels {

Pool2dGeometry pool2d_geometry(const char* who, std::span<const int64_t> x, int64_t kernel, int64_t stride,
                               int64_t padding) {
  if (stride == 0) stride = kernel;
  if (kernel < 1 || stride < 1 || padding < 0 || 2 * padding > kernel)
    raise<ValueError>(
        "{}: kernel and stride must be at least 1 and padding between 0 and half the kernel, got kernel "
        "{}, stride {}, padding {}",
        who, kernel, stride, padding);
  if (x.size() != 3 && x.size() != 4)
    raise<ShapeError>("{}: input must be [batch, channels, height, width] or [channels, height, width], got [{}]", who,
                      fmt::join(x, ", "));
  Pool2dGeometry g{1, x[x.size() - 2], x[x.size() - 1], kernel, stride, padding, 0, 0};
  for (size_t d = 0; d + 2 < x.size(); ++d) g.planes *= x[d];
  if (kernel > g.height + 2 * padding || kernel > g.width + 2 * padding)
    raise<ShapeError>("{}: kernel {} larger than the padded input {}x{} (input [{}])", who, kernel,
                      g.height + 2 * padding, g.width + 2 * padding, fmt::join(x, ", "));
  g.out_h = (g.height + 2 * padding - kernel) / stride + 1;
  g.out_w = (g.width + 2 * padding - kernel) / stride + 1;
  return g;
}

namespace {
/// Calls f(oh, ow, h0, h1, w0, w1) for every output cell of a plane with its window clipped to the
/// input, rows [h0, h1) and columns [w0, w1).
template <class F>
void for_each_window(const Pool2dGeometry& g, F f) {
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    const int64_t h = oh * g.stride - g.padding;
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      const int64_t w = ow * g.stride - g.padding;
      f(oh, ow, std::max<int64_t>(h, 0), std::min(h + g.kernel, g.height), std::max<int64_t>(w, 0),
        std::min(w + g.kernel, g.width));
    }
  }
}

/// The index within its plane of a window's first maximum (a NaN wins, as PyTorch's).
template <class T>
int64_t window_argmax(const T* plane, int64_t width, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
  int64_t best = h0 * width + w0;
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) {
      const T v = plane[h * width + w];
      if (v > plane[best] || (std::isnan(v) && !std::isnan(plane[best]))) best = h * width + w;
    }
  return best;
}

/// f(out, in) for every output cell (indexed over all planes) with `in` the index, over all
/// planes, of its window's first maximum in source (window_argmax's order and NaN rule). A 2x2
/// window of stride 2 without padding, the CNNs' pooling, compares its four cells unrolled.
template <class T, class F>
void for_each_argmax(const Pool2dGeometry& g, const T* source, F f) {
  const int64_t in = g.height * g.width, out = g.out_h * g.out_w;
  if (g.kernel == 2 && g.stride == 2 && g.padding == 0) {
    for (int64_t p = 0; p < g.planes; ++p) {
      const T* plane = source + p * in;
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const int64_t top = 2 * oh * g.width + 2 * ow;
          int64_t best = top;
          for (const int64_t cell : {top + 1, top + g.width, top + g.width + 1})
            if (plane[cell] > plane[best] || (std::isnan(plane[cell]) && !std::isnan(plane[best]))) best = cell;
          f(p * out + oh * g.out_w + ow, p * in + best);
        }
    }
    return;
  }
  for (int64_t p = 0; p < g.planes; ++p)
    for_each_window(g, [&](int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
      f(p * out + oh * g.out_w + ow, p * in + window_argmax(source + p * in, g.width, h0, h1, w0, w1));
    });
}

/// The divisor of an average-pooling window.
int64_t window_count(const Pool2dGeometry& g, bool count_include_pad, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
  return count_include_pad ? g.kernel * g.kernel : (h1 - h0) * (w1 - w0);
}
}  // namespace

template <class T>
void max_pool2d_select(const Pool2dGeometry& g, const T* source, const T* values, T* y) {
  for_each_argmax(g, source, [=](int64_t cell, int64_t at) { y[cell] = values[at]; });
}

template <class T>
void max_pool2d_select_backward(const Pool2dGeometry& g, const T* source, const T* gy, T* gvalues) {
  for_each_argmax(g, source, [=](int64_t cell, int64_t at) { gvalues[at] += gy[cell]; });
}

template <class T>
void avg_pool2d_forward(const Pool2dGeometry& g, bool count_include_pad, const T* x, T* y) {
  const int64_t in = g.height * g.width, out = g.out_h * g.out_w;
  for (int64_t p = 0; p < g.planes; ++p)
    for_each_window(g, [&](int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
      T s = 0;
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) s += x[p * in + h * g.width + w];
      y[p * out + oh * g.out_w + ow] = s / T(window_count(g, count_include_pad, h0, h1, w0, w1));
    });
}

template <class T>
void avg_pool2d_backward(const Pool2dGeometry& g, bool count_include_pad, const T* gy, T* gx) {
  const int64_t in = g.height * g.width, out = g.out_h * g.out_w;
  for (int64_t p = 0; p < g.planes; ++p)
    for_each_window(g, [&](int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
      const T share = gy[p * out + oh * g.out_w + ow] / T(window_count(g, count_include_pad, h0, h1, w0, w1));
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) gx[p * in + h * g.width + w] += share;
    });
}

namespace {
/// Calls f(cell, h0, h1, w0, w1) for every output cell of an adaptive pooling's plane.
template <class F>
void for_each_adaptive_window(int64_t height, int64_t width, int64_t out_h, int64_t out_w, F f) {
  for (int64_t i = 0; i < out_h; ++i)
    for (int64_t j = 0; j < out_w; ++j)
      f(i * out_w + j, i * height / out_h, ((i + 1) * height + out_h - 1) / out_h, j * width / out_w,
        ((j + 1) * width + out_w - 1) / out_w);
}
}  // namespace

template <class T>
void adaptive_avg_pool2d_forward(int64_t planes, int64_t height, int64_t width, int64_t out_h, int64_t out_w,
                                 const T* x, T* y) {
  for (int64_t p = 0; p < planes; ++p) {
    const T* plane = x + p * height * width;
    for_each_adaptive_window(height, width, out_h, out_w,
                             [&](int64_t cell, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
                               T s = 0;
                               for (int64_t h = h0; h < h1; ++h)
                                 for (int64_t w = w0; w < w1; ++w) s += plane[h * width + w];
                               y[p * out_h * out_w + cell] = s / T((h1 - h0) * (w1 - w0));
                             });
  }
}

template <class T>
void adaptive_avg_pool2d_backward(int64_t planes, int64_t height, int64_t width, int64_t out_h, int64_t out_w,
                                  const T* gy, T* gx) {
  for (int64_t p = 0; p < planes; ++p) {
    T* plane = gx + p * height * width;
    for_each_adaptive_window(height, width, out_h, out_w,
                             [&](int64_t cell, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
                               const T share = gy[p * out_h * out_w + cell] / T((h1 - h0) * (w1 - w0));
                               for (int64_t h = h0; h < h1; ++h)
                                 for (int64_t w = w0; w < w1; ++w) plane[h * width + w] += share;
                             });
  }
}

#define TAPEGRAD_POOL_INSTANTIATE(T)                                                                       \
  template void max_pool2d_select<T>(const Pool2dGeometry&, const T*, const T*, T*);                       \
  template void max_pool2d_select_backward<T>(const Pool2dGeometry&, const T*, const T*, T*);              \
  template void avg_pool2d_forward<T>(const Pool2dGeometry&, bool, const T*, T*);                          \
  template void avg_pool2d_backward<T>(const Pool2dGeometry&, bool, const T*, T*);                         \
  template void adaptive_avg_pool2d_forward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*); \
  template void adaptive_avg_pool2d_backward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*);
TAPEGRAD_POOL_INSTANTIATE(float)
TAPEGRAD_POOL_INSTANTIATE(double)
#undef TAPEGRAD_POOL_INSTANTIATE

}  // namespace tapegrad::nn::kernels
