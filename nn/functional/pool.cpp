#include "nn/functional/pool.hpp"

#include "autodiff/op.hpp"
#include "nn/functional/pool_kernels.hpp"

namespace tapegrad::nn {

namespace {
Shape pooled_shape(const Shape& in, int64_t out_h, int64_t out_w) {
  Shape out = in;
  out[in.rank() - 2] = out_h;
  out[in.rank() - 1] = out_w;
  return out;
}

/// The values at each window's maximum of `source` (a constant: where the maximum sits is locally
/// constant): max pooling is max_pool_select(x.detach(), x), and its tangent is
/// max_pool_select(x, the tangent), so one op gives both and its own second derivative.
Tensor max_pool_select(const Tensor& source, const Tensor& values, int64_t kernel, const Pool2dOptions& options) {
  OpRecord op("max_pool2d", {&source, &values});
  const kernels::Pool2dGeometry g =
      kernels::pool2d_geometry("max_pool2d", op.in(0).shape().dims(), kernel, options.stride, options.padding);
  Array& y = op.output(pooled_shape(op.in(0).shape(), g.out_h, g.out_w), op.in(0).dtype());
  op.forward([&source = op.in(0), &values = op.in(1), &y, g] {
    visit(y.dtype(),
          [&]<class T>(T) { kernels::max_pool2d_select(g, source.data<T>(), values.data<T>(), y.data<T>()); });
  });
  return op.finish(
      [g](BackwardContext& c) {
        if (!c.needs_grad(1)) return;
        visit(c.output().dtype(), [&]<class T>(T) {
          kernels::max_pool2d_select_backward(g, c.input(0).data<T>(), c.grad_output().data<T>(),
                                              c.grad_input(1).template data<T>());
        });
      },
      [kernel, options](TangentContext& c) {
        return c.has_tangent(1) ? max_pool_select(c.input(0).detach(), c.tangent(1), kernel, options) : Tensor();
      });
}
}  // namespace

Tensor max_pool2d(const Tensor& x, int64_t kernel, const Pool2dOptions& options) {
  return max_pool_select(x.detach(), x, kernel, options);
}

Tensor avg_pool2d(const Tensor& x, int64_t kernel, const AvgPool2dOptions& options) {
  OpRecord op("avg_pool2d", {&x});
  const kernels::Pool2dGeometry g =
      kernels::pool2d_geometry("avg_pool2d", op.in(0).shape().dims(), kernel, options.stride, options.padding);
  const bool count_pad = options.count_include_pad;
  Array& y = op.output(pooled_shape(op.in(0).shape(), g.out_h, g.out_w), op.in(0).dtype());
  op.forward([&x = op.in(0), &y, g, count_pad] {
    visit(y.dtype(), [&]<class T>(T) { kernels::avg_pool2d_forward(g, count_pad, x.data<T>(), y.data<T>()); });
  });
  return op.finish(
      [g, count_pad](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          kernels::avg_pool2d_backward(g, count_pad, c.grad_output().data<T>(), c.grad_input(0).template data<T>());
        });
      },
      [kernel, options](TangentContext& c) { return avg_pool2d(c.tangent(0), kernel, options); });  // linear
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  OpRecord op("adaptive_avg_pool2d", {&x});
  const Shape& in = op.in(0).shape();
  if (in.rank() != 3 && in.rank() != 4)
    raise<ShapeError>(
        "adaptive_avg_pool2d: input must be [batch, channels, height, width] or [channels, height, "
        "width], got {}",
        in);
  if (out_h < 1 || out_w < 1)
    raise<ValueError>("adaptive_avg_pool2d: output size must be at least 1x1, got {}x{}", out_h, out_w);
  const int64_t height = in[in.rank() - 2], width = in[in.rank() - 1];
  if (height < 1 || width < 1) raise<ShapeError>("adaptive_avg_pool2d: empty input {}", in);
  const int64_t planes = in.numel() / (height * width);
  Array& y = op.output(pooled_shape(in, out_h, out_w), op.in(0).dtype());
  op.forward([&x = op.in(0), &y, planes, height, width, out_h, out_w] {
    visit(y.dtype(), [&]<class T>(T) {
      kernels::adaptive_avg_pool2d_forward(planes, height, width, out_h, out_w, x.data<T>(), y.data<T>());
    });
  });
  return op.finish(
      [=](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          kernels::adaptive_avg_pool2d_backward(planes, height, width, out_h, out_w, c.grad_output().data<T>(),
                                                c.grad_input(0).template data<T>());
        });
      },
      [out_h, out_w](TangentContext& c) { return adaptive_avg_pool2d(c.tangent(0), out_h, out_w); });  // linear
}

}  // namespace tapegrad::nn
