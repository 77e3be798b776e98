#pragma once
// Recipes shared by the elementwise ops (internal header): an op supplies only its math,
//   unary:  value(x)        and  dx(g, x, y)       (g = dL/dy)
//   binary: value(a, b)     and  da(g, a, b, y), db(g, a, b, y)
// as generic lambdas (they run on float and double), and the recipe does the loops, the
// broadcasting and the recording. Derivative lambdas capture scalars only.
#include "autodiff/detail/kernels.hpp"
#include "autodiff/elementwise_math.hpp"
#include "autodiff/op.hpp"

namespace tapegrad::detail {

/// The buffers a one-input backward reads and writes: x, y, dL/dy, and dL/dx (accumulated into).
template <class T>
struct UnaryGrad {
  const T* x;
  const T* y;
  const T* g;
  T* gx;
};
template <class T>
UnaryGrad<T> unary_grad(BackwardContext& c) {
  return {c.input(0).data<T>(), c.output().data<T>(), c.grad_output().data<T>(), c.grad_input(0).template data<T>()};
}

template <class Value, class Dx>
Tensor unary_op(const char* name, const Tensor& x, Value value, Dx dx) {
  OpRecord op(name, {&x});
  const Array& xv = op.in(0);
  Array& yv = op.output(xv.shape(), xv.dtype());
  visit(xv.dtype(), [&]<class T>(T) {
    const T* px = xv.data<T>();
    T* py = yv.data<T>();
    parallel_for(xv.numel(), [=](int64_t i) { py[i] = static_cast<T>(value(px[i])); });
  });
  return op.finish([dx](BackwardContext& c) {
    visit(c.output().dtype(), [&](auto t) {
      const auto v = unary_grad<decltype(t)>(c);
      parallel_for(c.output().numel(),
                   [=](int64_t i) { v.gx[i] += static_cast<decltype(t)>(dx(v.g[i], v.x[i], v.y[i])); });
    });
  });
}

/// f(i, ia, ib) over the broadcast of a and b to `out` (a contiguous fast path when no broadcast).
template <class T, class F>
void zip_broadcast(const Shape& out, const Shape& a, const Shape& b, F&& f) {
  if (a == out && b == out) {
    parallel_for(out.numel(), [&](int64_t i) { f(i, i, i); });
  } else {
    kernels::for_each_broadcast<2>(out, {broadcast_strides(a, out), broadcast_strides(b, out)},
                                   [&](int64_t i, const std::array<int64_t, 2>& o) { f(i, o[0], o[1]); });
  }
}

template <class Value, class Da, class Db>
Tensor binary_op(const char* name, const Tensor& a, const Tensor& b, Value value, Da da, Db db) {
  OpRecord op(name, {&a, &b});
  const Array& av = op.in(0);
  const Array& bv = op.in(1);
  const Shape out = av.shape() == bv.shape() ? av.shape() : broadcast_shape(name, av.shape(), bv.shape());
  Array& yv = op.output(out, av.dtype());
  visit(av.dtype(), [&]<class T>(T) {
    const T* pa = av.data<T>();
    const T* pb = bv.data<T>();
    T* py = yv.data<T>();
    zip_broadcast<T>(out, av.shape(), bv.shape(),
                     [=](int64_t i, int64_t ia, int64_t ib) { py[i] = static_cast<T>(value(pa[ia], pb[ib])); });
  });
  return op.finish([da, db](BackwardContext& c) {
    const Array& av2 = c.input(0);
    const Array& bv2 = c.input(1);
    const Array& yv2 = c.output();
    visit(yv2.dtype(), [&]<class T>(T) {
      const T* pa = av2.data<T>();
      const T* pb = bv2.data<T>();
      const T* py = yv2.data<T>();
      const T* pg = c.grad_output().data<T>();
      auto one_side = [&](size_t k, auto d) {
        if (!c.needs_grad(k)) return;
        const Shape& own = (k == 0 ? av2 : bv2).shape();
        // Same shape as the output: accumulate in place; broadcast: build dL/dy-shaped, then sum down.
        Array& g = own == yv2.shape() ? c.grad_input(k) : c.scratch(yv2.shape(), yv2.dtype());
        T* pgk = g.template data<T>();
        const bool direct = own == yv2.shape();
        zip_broadcast<T>(yv2.shape(), av2.shape(), bv2.shape(), [=](int64_t i, int64_t ia, int64_t ib) {
          const T v = static_cast<T>(d(pg[i], pa[ia], pb[ib], py[i]));
          pgk[i] = direct ? pgk[i] + v : v;
        });
        if (!direct) c.accumulate(k, g);
      };
      one_side(0, da);
      one_side(1, db);
    });
  });
}

/// The tensor form of an op of elementwise_math.hpp: y = Op::value(x), dL/dx = g * Op::partial(x, y).
template <class Op>
Tensor unary_math(const Tensor& x, const char* name = Op::kName) {
  return unary_op(
      name, x, [](auto v) { return Op::value(v); }, [](auto g, auto v, auto y) { return g * Op::partial(v, y); });
}

/// The tensor form of a binary op of elementwise_math.hpp (broadcasting).
template <class Op>
Tensor binary_math(const Tensor& a, const Tensor& b, const char* name = Op::kName) {
  return binary_op(
      name, a, b, [](auto x, auto z) { return Op::value(x, z); },
      [](auto g, auto x, auto z, auto y) { return g * Op::da(x, z, y); },
      [](auto g, auto x, auto z, auto y) { return g * Op::db(x, z, y); });
}

}  // namespace tapegrad::detail
