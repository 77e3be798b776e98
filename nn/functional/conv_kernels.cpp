#include "nn/functional/conv_kernels.hpp"

#include <fmt/ranges.h>

#include <algorithm>

#include "autodiff/blas.hpp"
#include "autodiff/error.hpp"

namespace tapegrad::nn::kernels {

namespace {
std::string dims(std::span<const int64_t> d) { return fmt::format("[{}]", fmt::join(d, ", ")); }

int64_t checked_product(const char* who, std::initializer_list<int64_t> factors) {
  int64_t p = 1;
  for (const int64_t f : factors)
    if (__builtin_mul_overflow(p, f, &p)) raise<ShapeError>("{}: the output's size overflows 64 bits", who);
  return p;
}

bool reads_input_in_place(const Conv2dGeometry& g) {
  const Conv2dOptions& o = g.options;
  return g.kernel_h == 1 && g.kernel_w == 1 && o.stride == 1 && o.padding == 0;
}

/// Tap column j reads input column iw = ow * stride + shift of output column ow; the output columns
/// [lo, hi) are those whose iw lies inside the input (the rest read the padding).
struct TapColumns {
  int64_t shift, lo, hi;
};
TapColumns tap_columns(const Conv2dGeometry& g, int64_t j) {
  const Conv2dOptions& o = g.options;
  const int64_t shift = j * o.dilation - o.padding;
  const int64_t lo = shift >= 0 ? 0 : (-shift + o.stride - 1) / o.stride;
  const int64_t last = g.width - 1 - shift;  // the largest ow * stride that stays inside
  const int64_t hi = last < 0 ? 0 : std::min(g.out_w, last / o.stride + 1);
  return {shift, std::min(lo, hi), hi};
}

/// The group's input channels [group_in, H, W] unrolled into col [group_in * kh * kw, out_h * out_w]:
/// row (c, i, j) holds, for every output position, the input under tap (i, j) of channel c (0 in
/// the padding).
template <class T>
void im2col(const Conv2dGeometry& g, const T* x, T* col) {
  const Conv2dOptions& o = g.options;
  const int64_t cols = g.col_cols(), stride = o.stride;
  for (int64_t c = 0; c < g.group_in(); ++c)
    for (int64_t i = 0; i < g.kernel_h; ++i)
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        T* row = col + ((c * g.kernel_h + i) * g.kernel_w + j) * cols;
        const TapColumns t = tap_columns(g, j);
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          T* out = row + oh * g.out_w;
          const int64_t ih = oh * stride - o.padding + i * o.dilation;
          if (ih < 0 || ih >= g.height) {
            std::fill(out, out + g.out_w, T(0));
            continue;
          }
          const T* in = x + (c * g.height + ih) * g.width;
          std::fill(out, out + t.lo, T(0));
          if (stride == 1) {
            std::copy(in + t.lo + t.shift, in + t.hi + t.shift, out + t.lo);
          } else {
            for (int64_t ow = t.lo; ow < t.hi; ++ow) out[ow] = in[ow * stride + t.shift];
          }
          std::fill(out + t.hi, out + g.out_w, T(0));
        }
      }
}

/// im2col's adjoint: adds each column entry back onto the input cell it was read from.
template <class T>
void col2im_add(const Conv2dGeometry& g, const T* col, T* x) {
  const Conv2dOptions& o = g.options;
  const int64_t cols = g.col_cols(), stride = o.stride;
  for (int64_t c = 0; c < g.group_in(); ++c)
    for (int64_t i = 0; i < g.kernel_h; ++i)
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        const T* row = col + ((c * g.kernel_h + i) * g.kernel_w + j) * cols;
        const TapColumns t = tap_columns(g, j);
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          const int64_t ih = oh * stride - o.padding + i * o.dilation;
          if (ih < 0 || ih >= g.height) continue;
          const T* in = row + oh * g.out_w;
          T* out = x + (c * g.height + ih) * g.width;
          if (stride == 1) {
#pragma omp simd
            for (int64_t ow = t.lo; ow < t.hi; ++ow) out[ow + t.shift] += in[ow];
          } else {
            for (int64_t ow = t.lo; ow < t.hi; ++ow) out[ow * stride + t.shift] += in[ow];
          }
        }
      }
}
}  // namespace

int64_t Conv2dGeometry::col_size() const { return reads_input_in_place(*this) ? 0 : col_rows() * col_cols(); }

Conv2dGeometry conv2d_geometry(const char* who, std::span<const int64_t> x, std::span<const int64_t> w,
                               int64_t bias_size, const Conv2dOptions& o) {
  if (o.stride < 1 || o.dilation < 1 || o.padding < 0 || o.groups < 1)
    raise<ValueError>(
        "{}: stride, dilation and groups must be at least 1 and padding at least 0, got stride {}, "
        "padding {}, dilation {}, groups {}",
        who, o.stride, o.padding, o.dilation, o.groups);
  if (x.size() != 4)
    raise<ShapeError>("{}: input must be 4-D [batch, channels, height, width], got {} (weight {})", who, dims(x),
                      dims(w));
  if (w.size() != 4)
    raise<ShapeError>("{}: weight must be [out_channels, in_channels / groups, kernel_h, kernel_w], got {}", who,
                      dims(w));
  Conv2dGeometry g{x[0], x[1], x[2], x[3], w[0], w[2], w[3], 0, 0, o};
  if (g.in_channels % o.groups != 0 || g.out_channels % o.groups != 0)
    raise<ShapeError>("{}: channels not divisible by groups {}: input {}, weight {}", who, o.groups, dims(x), dims(w));
  if (w[1] != g.in_channels / o.groups)
    raise<ShapeError>("{}: input {} has {} channels, weight {} expects {} (in_channels / groups {} x groups {})", who,
                      dims(x), g.in_channels, dims(w), w[1] * o.groups, w[1], o.groups);
  if (bias_size >= 0 && bias_size != g.out_channels)
    raise<ShapeError>("{}: bias must be [{}] for weight {}, got [{}]", who, g.out_channels, dims(w), bias_size);
  const int64_t reach_h = o.dilation * (g.kernel_h - 1) + 1, reach_w = o.dilation * (g.kernel_w - 1) + 1;
  const int64_t padded_h = g.height + 2 * o.padding, padded_w = g.width + 2 * o.padding;
  if (g.kernel_h < 1 || g.kernel_w < 1 || reach_h > padded_h || reach_w > padded_w)
    raise<ShapeError>("{}: kernel {}x{} (dilation {}) larger than the padded input {}x{}: input {}, weight {}", who,
                      g.kernel_h, g.kernel_w, o.dilation, padded_h, padded_w, dims(x), dims(w));
  g.out_h = (padded_h - reach_h) / o.stride + 1;
  g.out_w = (padded_w - reach_w) / o.stride + 1;
  checked_product(who, {g.batch, g.out_channels, g.out_h, g.out_w});
  checked_product(who, {g.col_rows(), g.col_cols()});
  return g;
}

int64_t conv2d_shares(const Conv2dGeometry& g, const ConvThreads& threads) {
  const int64_t work = g.batch * g.out_channels * g.col_cols() * g.col_rows();
  if (!threads.loop || threads.count < 2 || work < kConvShareWork) return 1;
  return std::min<int64_t>(threads.count, g.batch);
}

int64_t conv2d_forward_scratch(const Conv2dGeometry& g, const ConvThreads& threads) {
  return conv2d_shares(g, threads) * g.col_size();
}

int64_t conv2d_backward_scratch(const Conv2dGeometry& g, const ConvThreads& threads) {
  const int64_t shares = conv2d_shares(g, threads), weight = g.group_out() * g.col_rows() * g.options.groups;
  return shares * g.col_size() + (shares - 1) * (weight + g.out_channels);
}

namespace {
/// f(share, first image, end image, BLAS threads) for each share of the images, on the loop's
/// threads when there are several shares.
template <class F>
void for_each_share(const Conv2dGeometry& g, const ConvThreads& threads, F&& f) {
  const int64_t shares = conv2d_shares(g, threads);
  if (shares == 1) return f(int64_t{0}, int64_t{0}, g.batch, threads.count);
  auto run = [&](int64_t first, int64_t last) {
    for (int64_t s = first; s < last; ++s) f(s, g.batch * s / shares, g.batch * (s + 1) / shares, 1);
  };
  using Run = decltype(run);
  threads.loop(
      shares, [](void* ctx, int64_t first, int64_t last) { (*static_cast<Run*>(ctx))(first, last); }, &run);
}

/// The group's columns of image n: the input itself for a 1x1 convolution of stride 1, else
/// im2col'd into col.
template <class T>
const T* columns_of(const Conv2dGeometry& g, const T* x, int64_t n, int64_t grp, T* col) {
  const T* xg = x + (n * g.options.groups + grp) * g.group_in() * g.height * g.width;
  if (reads_input_in_place(g)) return xg;
  im2col(g, xg, col);
  return col;
}
}  // namespace

template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y, T* scratch,
                    const ConvThreads& threads) {
  const int64_t K = g.col_rows(), L = g.col_cols(), out = g.group_out();
  for_each_share(g, threads, [&](int64_t share, int64_t first, int64_t end, int blas_threads) {
    T* col = scratch + share * g.col_size();
    for (int64_t n = first; n < end; ++n)
      for (int64_t grp = 0; grp < g.options.groups; ++grp) {
        T* yg = y + (n * g.out_channels + grp * out) * L;
        const T* cols = columns_of(g, x, n, grp, col);
        if (b)
          for (int64_t o = 0; o < out; ++o) std::fill(yg + o * L, yg + (o + 1) * L, b[grp * out + o]);
        blas::gemm(false, false, out, L, K, w + grp * out * K, K, cols, L, b ? T(1) : T(0), yg, L, blas_threads);
      }
  });
}

template <class T>
void conv2d_backward(const Conv2dGeometry& g, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb, T* scratch,
                     const ConvThreads& threads) {
  const int64_t K = g.col_rows(), L = g.col_cols(), out = g.group_out(), in_size = g.group_in() * g.height * g.width;
  const int64_t weight = out * K * g.options.groups, shares = conv2d_shares(g, threads);
  T* partial_sums = scratch + shares * g.col_size();  // dL/dW then dL/db of shares 1, 2, ...
  for_each_share(g, threads, [&](int64_t share, int64_t first, int64_t end, int blas_threads) {
    T* col = scratch + share * g.col_size();
    T* share_gw = gw;
    T* share_gb = gb;
    if (share > 0) {  // a share of its own, added into gw and gb below
      share_gw = partial_sums + (share - 1) * (weight + g.out_channels);
      share_gb = share_gw + weight;
      std::fill(share_gw, share_gw + weight + g.out_channels, T(0));
    }
    for (int64_t n = first; n < end; ++n)
      for (int64_t grp = 0; grp < g.options.groups; ++grp) {
        const T* gyg = gy + (n * g.out_channels + grp * out) * L;
        const T* wg = w + grp * out * K;
        if (gb)  // dL/db: dL/dy summed over positions
          for (int64_t o = 0; o < out; ++o) {
            T s = 0;
#pragma omp simd reduction(+ : s)
            for (int64_t l = 0; l < L; ++l) s += gyg[o * L + l];
            share_gb[grp * out + o] += s;
          }
        if (gw)  // dL/dW_g += dL/dY_g col^T
          blas::gemm(false, true, out, K, L, gyg, L, columns_of(g, x, n, grp, col), L, T(1), share_gw + grp * out * K,
                     K, blas_threads);
        if (gx) {  // dL/dcol = W_g^T dL/dY_g, folded back onto the input
          T* gxg = gx + (n * g.options.groups + grp) * in_size;
          if (reads_input_in_place(g)) {
            blas::gemm(true, false, K, L, out, wg, K, gyg, L, T(1), gxg, L, blas_threads);
          } else {
            blas::gemm(true, false, K, L, out, wg, K, gyg, L, T(0), col, L, blas_threads);
            col2im_add(g, col, gxg);
          }
        }
      }
  });
  for (int64_t share = 1; share < shares; ++share) {
    const T* sums = partial_sums + (share - 1) * (weight + g.out_channels);
    if (gw)
#pragma omp simd
      for (int64_t i = 0; i < weight; ++i) gw[i] += sums[i];
    if (gb)
#pragma omp simd
      for (int64_t o = 0; o < g.out_channels; ++o) gb[o] += sums[weight + o];
  }
}

#define TAPEGRAD_CONV_INSTANTIATE(T)                                                                                \
  template void conv2d_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*, T*, const ConvThreads&); \
  template void conv2d_backward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*, T*, T*, T*,             \
                                   const ConvThreads&);
TAPEGRAD_CONV_INSTANTIATE(float)
TAPEGRAD_CONV_INSTANTIATE(double)
#undef TAPEGRAD_CONV_INSTANTIATE

}  // namespace tapegrad::nn::kernels
