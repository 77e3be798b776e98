#include "autodiff/ops/linalg.hpp"

#include "autodiff/detail/kernels.hpp"
#include "autodiff/op.hpp"

namespace tapegrad {

using kernels::gemm;

namespace {

struct MatmulDims {
  int64_t batch, m, k, n;
  bool a_batched, b_batched;
};

MatmulDims check_matmul(const Shape& a, const Shape& b, Shape& out) {
  if (a.rank() < 2 || b.rank() < 2)
    raise<ShapeError>("matmul: both operands need at least 2 dimensions, got lhs {} and rhs {}", a, b);
  const int64_t m = a[a.rank() - 2], k = a[a.rank() - 1], kb = b[b.rank() - 2], n = b[b.rank() - 1];
  if (k != kb) raise<ShapeError>("matmul: inner dimensions differ: lhs {}, rhs {}", a, b);
  const bool ab = a.rank() > 2, bb = b.rank() > 2;
  if (ab && bb) {
    bool same = a.rank() == b.rank();
    for (int i = 0; same && i < a.rank() - 2; ++i) same = a[i] == b[i];
    if (!same) raise<ShapeError>("matmul: batch dimensions differ: lhs {}, rhs {}", a, b);
  }
  const Shape& batched = ab ? a : b;
  out = batched;
  out[out.rank() - 2] = m;
  out[out.rank() - 1] = n;
  int64_t batch = 1;
  for (int i = 0; i < out.rank() - 2; ++i) batch *= out[i];
  return {batch, m, k, n, ab, bb};
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  OpRecord op("matmul", {&a, &b});
  Shape out;
  const MatmulDims d = check_matmul(op.in(0).shape(), op.in(1).shape(), out);
  Array& y = op.output(out, op.in(0).dtype());
  op.forward([&a = op.in(0), &b = op.in(1), &y, d] {
    visit(y.dtype(), [&]<class T>(T) {
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      T* py = y.data<T>();
      if (d.k == 0) y.fill(0.0);
      for (int64_t i = 0; i < d.batch && d.k > 0; ++i)
        gemm(false, false, d.m, d.n, d.k, pa + (d.a_batched ? i * d.m * d.k : 0),
             pb + (d.b_batched ? i * d.k * d.n : 0), T(0), py + i * d.m * d.n);
    });
  });
  return op.finish(
      [d](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          const T* pa = c.input(0).data<T>();
          const T* pb = c.input(1).data<T>();
          const T* pg = c.grad_output().data<T>();
          if (d.m == 0 || d.n == 0 || d.k == 0) return;
          // beta 0 writes a fresh gradient (its first product into each block), beta 1 adds.
          const auto beta = [](bool fresh, bool batched, int64_t i) {
            return fresh && (batched || i == 0) ? T(0) : T(1);
          };
          if (c.needs_grad(0)) {  // dA = G B^T (summed over the batch when A is shared)
            const auto [grad, fresh] = c.grad_input_to_write(0);
            T* ga = grad.template data<T>();
            for (int64_t i = 0; i < d.batch; ++i)
              gemm(false, true, d.m, d.k, d.n, pg + i * d.m * d.n, pb + (d.b_batched ? i * d.k * d.n : 0),
                   beta(fresh, d.a_batched, i), ga + (d.a_batched ? i * d.m * d.k : 0));
          }
          if (c.needs_grad(1)) {  // dB = A^T G
            const auto [grad, fresh] = c.grad_input_to_write(1);
            T* gb = grad.template data<T>();
            for (int64_t i = 0; i < d.batch; ++i)
              gemm(true, false, d.k, d.n, d.m, pa + (d.a_batched ? i * d.m * d.k : 0), pg + i * d.m * d.n,
                   beta(fresh, d.b_batched, i), gb + (d.b_batched ? i * d.k * d.n : 0));
          }
        });
      },
      [](TangentContext& c) {  // d(A B) = dA B + A dB
        return c.sum(
            [&c](size_t i, const Tensor& t) { return i == 0 ? matmul(t, c.input(1)) : matmul(c.input(0), t); });
      });
}

}  // namespace tapegrad
