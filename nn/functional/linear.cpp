#include "nn/functional/linear.hpp"

#include "autodiff/blas.hpp"
#include "autodiff/op.hpp"
#include "autodiff/threads.hpp"

namespace tapegrad::nn {

namespace {
struct LinearDims {
  int64_t rows, in, out;
  bool has_bias;
};

LinearDims check_linear(const Array& x, const Array& w, const Array* b) {
  if (w.rank() != 2) raise<ShapeError>("linear: weight must be [out, in], got {}", w.shape());
  if (x.rank() < 1 || x.shape()[x.rank() - 1] != w.shape()[1])
    raise<ShapeError>("linear: input {} does not end in the weight's in-features, weight {}", x.shape(), w.shape());
  if (b && !(b->shape() == Shape{w.shape()[0]}))
    raise<ShapeError>("linear: bias must be [{}] for weight {}, got {}", w.shape()[0], w.shape(), b->shape());
  const int64_t in = w.shape()[1];
  return {in == 0 ? 0 : x.numel() / in, in, w.shape()[0], b != nullptr};
}

/// C = op(A) op(B), or C += op(A) op(B) when `add`, for packed row-major operands (op(A) m x k,
/// op(B) k x n), on tapegrad's threads.
template <class T>
void gemm_into(bool add, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c) {
  blas::gemm(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, add ? T(1) : T(0), c, n, num_threads());
}
}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const Tensor* inputs[] = {&x, &weight, &bias};
  OpRecord op("linear", std::span<const Tensor* const>(inputs, bias.defined() ? 3 : 2));
  const LinearDims d = check_linear(op.in(0), op.in(1), bias.defined() ? &op.in(2) : nullptr);
  Shape out_shape = op.in(0).shape();
  out_shape[out_shape.rank() - 1] = d.out;
  Array& y = op.output(out_shape, op.in(0).dtype());
  const Array* b = d.has_bias ? &op.in(2) : nullptr;
  op.forward([&x = op.in(0), &w = op.in(1), b, &y, d] {
    visit(y.dtype(), [&]<class T>(T) {
      T* py = y.data<T>();
      if (b) {  // y = b in every row, then y += x W^T
        const T* pb = b->data<T>();
        for (int64_t i = 0; i < d.rows; ++i) std::copy(pb, pb + d.out, py + i * d.out);
      } else {
        y.fill(0.0);
      }
      if (d.in > 0) gemm_into(true, false, true, d.rows, d.out, d.in, x.data<T>(), w.data<T>(), py);
    });
  });
  return op.finish(
      [d](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          const T* g = c.grad_output().data<T>();
          if (d.rows == 0 || d.out == 0) return;
          // The products write their gradients whole: assigned where nothing accumulated yet (a
          // parameter after zero_grad(), the input below), added otherwise.
          if (c.needs_grad(0) && d.in > 0) {  // dL/dx = G W
            const auto [gx, fresh] = c.grad_input_to_write(0);
            gemm_into(!fresh, false, false, d.rows, d.in, d.out, g, c.input(1).data<T>(), gx.template data<T>());
          }
          if (c.needs_grad(1) && d.in > 0) {  // dL/dW = G^T x
            const auto [gw, fresh] = c.grad_input_to_write(1);
            gemm_into(!fresh, true, false, d.out, d.in, d.rows, g, c.input(0).data<T>(), gw.template data<T>());
          }
          if (d.has_bias && c.needs_grad(2)) {  // dL/db = column sums of G
            T* gb = c.grad_input(2).template data<T>();
            for (int64_t i = 0; i < d.rows; ++i)
#pragma omp simd
              for (int64_t j = 0; j < d.out; ++j) gb[j] += g[i * d.out + j];
          }
        });
      },
      [](TangentContext& c) {  // d(x W^T + b) = dx W^T + x dW^T + db
        return c.sum([&c](size_t i, const Tensor& t) {
          return i == 0 ? linear(t, c.input(1)) : i == 1 ? linear(c.input(0), t) : t;
        });
      });
}

}  // namespace tapegrad::nn
