#include "nn/functional/conv.hpp"

#include "autodiff/op.hpp"
#include "autodiff/ops/shape_ops.hpp"
#include "autodiff/parallel.hpp"
#include "autodiff/threads.hpp"
#include "nn/functional/conv_kernels.hpp"

namespace tapegrad::nn {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
  const Tensor* inputs[] = {&x, &weight, &bias};
  const bool has_bias = bias.defined();
  OpRecord op("conv2d", std::span<const Tensor* const>(inputs, has_bias ? 3 : 2));
  const kernels::Conv2dGeometry g = kernels::conv2d_geometry("conv2d", op.in(0).shape().dims(), op.in(1).shape().dims(),
                                                             has_bias ? op.in(2).numel() : -1, options);
  if (has_bias && op.in(2).rank() != 1)
    raise<ShapeError>("conv2d: bias must be [{}], got {}", g.out_channels, op.in(2).shape());
  const DType dtype = op.in(0).dtype();
  Array& y = op.output(Shape{g.batch, g.out_channels, g.out_h, g.out_w}, dtype);
  const kernels::ConvThreads threads{num_threads(), &parallel_chunks};
  Array& scratch = op.save_for_backward(Shape{kernels::conv2d_forward_scratch(g, threads)}, dtype);
  op.forward([&x = op.in(0), &w = op.in(1), b = has_bias ? &op.in(2) : nullptr, &y, &scratch, g, threads] {
    visit(y.dtype(), [&]<class T>(T) {
      kernels::conv2d_forward(g, x.data<T>(), w.data<T>(), b ? b->data<T>() : nullptr, y.data<T>(), scratch.data<T>(),
                              threads);
    });
  });
  return op.finish(
      [g, has_bias, threads](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          T* gx = c.needs_grad(0) ? c.grad_input(0).template data<T>() : nullptr;
          T* gw = c.needs_grad(1) ? c.grad_input(1).template data<T>() : nullptr;
          T* gb = has_bias && c.needs_grad(2) ? c.grad_input(2).template data<T>() : nullptr;
          Array& buffer = c.scratch(Shape{kernels::conv2d_backward_scratch(g, threads)}, c.output().dtype());
          kernels::conv2d_backward(g, c.input(0).data<T>(), c.input(1).data<T>(), c.grad_output().data<T>(), gx, gw, gb,
                                   buffer.data<T>(), threads);
        });
      },
      [options,
       out = g.out_channels](TangentContext& c) {  // bilinear: d conv(x, W) + db = conv(dx, W) + conv(x, dW) + db
        return c.sum([&](size_t i, const Tensor& t) {
          return i == 0   ? conv2d(t, c.input(1), {}, options)
                 : i == 1 ? conv2d(c.input(0), t, {}, options)
                          : reshape(t, {1, out, 1, 1});
        });
      });
}

}  // namespace tapegrad::nn
