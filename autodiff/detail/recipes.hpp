#pragma once
// Recipes shared by the elementwise ops (internal header): an op supplies only its math,
//   unary:  value(x)        and  dx(g, x, y)       (g = dL/dy)
//   binary: value(a, b)     and  da(g, a, b, y), db(g, a, b, y)
// as generic lambdas (they run on float, double and math::Dual), and the recipe does the loops, the
// broadcasting and the recording. Derivative lambdas capture scalars only.
//
// The same derivative lambdas give each op its tangent rule, t * dx(1, x, y), through the
// "derivative" op below, whose own derivative (needed when hvp sweeps back through a tangent) is
// the derivative lambda evaluated on dual numbers. So an elementwise op's first derivative is
// written once and serves its gradient, its tangent and its second derivative.
#include "autodiff/detail/kernels.hpp"
#include "autodiff/dual.hpp"
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

/// The elementwise derivative dy/dx = dx(1, x, y) of an op y = f(x) (y given, and read as a constant:
/// its dependence on x enters through the dual number y + f'(x) eps). Its backward differentiates
/// the formula once more: d/dx dx(1, x, f(x)) = dx(1, x + eps, y + f'(x) eps).t.
template <class Dx>
Tensor elementwise_derivative(const Tensor& x, const Tensor& y, Dx dx) {
  const Tensor constant_y = y.detach();
  OpRecord op("derivative", {&x, &constant_y});
  const Array& xv = op.in(0);
  const Array& yv = op.in(1);
  Array& dv = op.output(xv.shape(), xv.dtype());
  visit(xv.dtype(), [&]<class T>(T) {
    const T* px = xv.data<T>();
    const T* py = yv.data<T>();
    T* pd = dv.data<T>();
    parallel_for(xv.numel(), [=](int64_t i) { pd[i] = static_cast<T>(dx(T(1), px[i], py[i])); });
  });
  return op.finish([dx](BackwardContext& c) {  // no tangent rule: only tangent rules record this op
    if (!c.needs_grad(0)) return;
    visit(c.output().dtype(), [&]<class T>(T) {
      const T* px = c.input(0).data<T>();
      const T* py = c.input(1).data<T>();
      const T* pg = c.grad_output().data<T>();
      T* pgx = c.grad_input(0).template data<T>();
      parallel_for(c.output().numel(), [=](int64_t i) {
        const double xi = px[i], yi = py[i];
        const math::Dual second = dx(math::Dual(1.0), math::Dual(xi, 1.0), math::Dual(yi, dx(1.0, xi, yi)));
        pgx[i] += static_cast<T>(pg[i] * second.t);
      });
    });
  });
}

/// The partial dy/da (K = 0) or dy/db (K = 1) of a binary op y = f(a, b), broadcast to y's shape,
/// y read as a constant (see elementwise_derivative); its backward by dual numbers.
template <int K, class Da, class Db>
Tensor binary_derivative(const Tensor& a, const Tensor& b, const Tensor& y, Da da, Db db) {
  const Tensor constant_y = y.detach();
  OpRecord op("derivative", {&a, &b, &constant_y});
  const Array& av = op.in(0);
  const Array& bv = op.in(1);
  const Array& yv = op.in(2);
  Array& dv = op.output(yv.shape(), yv.dtype());
  const auto partial = [&] {  // the formula of this partial: da or db
    if constexpr (K == 0)
      return da;
    else
      return db;
  }();
  visit(yv.dtype(), [&]<class T>(T) {
    const T *pa = av.data<T>(), *pb = bv.data<T>(), *py = yv.data<T>();
    T* pd = dv.data<T>();
    zip_broadcast<T>(yv.shape(), av.shape(), bv.shape(), [=](int64_t i, int64_t ia, int64_t ib) {
      pd[i] = static_cast<T>(partial(T(1), pa[ia], pb[ib], py[i]));
    });
  });
  return op.finish([partial, da, db](BackwardContext& c) {
    const Array& yv2 = c.input(2);
    visit(yv2.dtype(), [&]<class T>(T) {
      const T *pa = c.input(0).data<T>(), *pb = c.input(1).data<T>(), *py = yv2.data<T>();
      const T* pg = c.grad_output().data<T>();
      for (size_t j = 0; j < 2; ++j) {  // d partial / d a, then d partial / d b
        if (!c.needs_grad(j)) continue;
        Array& g = c.scratch(yv2.shape(), yv2.dtype());
        T* pgj = g.template data<T>();
        zip_broadcast<T>(yv2.shape(), c.input(0).shape(), c.input(1).shape(), [=](int64_t i, int64_t ia, int64_t ib) {
          const double x = pa[ia], z = pb[ib], v = py[i];
          const double dy = j == 0 ? da(1.0, x, z, v) : db(1.0, x, z, v);
          const math::Dual second = partial(math::Dual(1.0), math::Dual(x, j == 0 ? 1.0 : 0.0),
                                            math::Dual(z, j == 1 ? 1.0 : 0.0), math::Dual(v, dy));
          pgj[i] = static_cast<T>(pg[i] * second.t);
        });
        c.accumulate(j, g);  // summed down to the input's shape if it was broadcast
      }
    });
  });
}

template <class Value, class Dx, class Tangent>
Tensor unary_op(const char* name, const Tensor& x, Value value, Dx dx, Tangent tangent) {
  OpRecord op(name, {&x});
  const Array& xv = op.in(0);
  Array& yv = op.output(xv.shape(), xv.dtype());
  op.forward([&xv, &yv, value] {
    visit(xv.dtype(), [&]<class T>(T) {
      const T* px = xv.data<T>();
      T* py = yv.data<T>();
      parallel_for(xv.numel(), [=](int64_t i) { py[i] = static_cast<T>(value(px[i])); });
    });
  });
  return op.finish(
      [dx](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          const auto [grad, fresh] = c.grad_input_to_write(0);
          const T *px = c.input(0).data<T>(), *py = c.output().data<T>(), *pg = c.grad_output().data<T>();
          T* gx = grad.template data<T>();
          const bool add = !fresh;
          parallel_for(c.output().numel(), [=](int64_t i) {
            const T v = static_cast<T>(dx(pg[i], px[i], py[i]));
            gx[i] = add ? gx[i] + v : v;
          });
        });
      },
      tangent);
}

/// An elementwise op whose tangent is t * dx(1, x, y) (its derivative formula, once).
template <class Value, class Dx>
Tensor unary_op(const char* name, const Tensor& x, Value value, Dx dx) {
  return unary_op(name, x, value, dx, [dx](TangentContext& c) {
    return c.tangent(0) * elementwise_derivative(c.input(0), c.output(), dx);
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

template <class Value, class Da, class Db, class Tangent>
Tensor binary_op(const char* name, const Tensor& a, const Tensor& b, Value value, Da da, Db db, Tangent tangent) {
  OpRecord op(name, {&a, &b});
  const Array& av = op.in(0);
  const Array& bv = op.in(1);
  const Shape out = av.shape() == bv.shape() ? av.shape() : broadcast_shape(name, av.shape(), bv.shape());
  Array& yv = op.output(out, av.dtype());
  op.forward([&av, &bv, &yv, value] {
    visit(av.dtype(), [&]<class T>(T) {
      const T* pa = av.data<T>();
      const T* pb = bv.data<T>();
      T* py = yv.data<T>();
      zip_broadcast<T>(yv.shape(), av.shape(), bv.shape(),
                       [=](int64_t i, int64_t ia, int64_t ib) { py[i] = static_cast<T>(value(pa[ia], pb[ib])); });
    });
  });
  return op.finish(
      [da, db](BackwardContext& c) {
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
            // Same shape as the output: written in place (added unless fresh); broadcast: built
            // dL/dy-shaped, then summed down.
            const bool direct = own == yv2.shape();
            const BackwardContext::GradToWrite target =
                direct ? c.grad_input_to_write(k)
                       : BackwardContext::GradToWrite{c.scratch(yv2.shape(), yv2.dtype()), true};
            const bool add = !target.fresh;
            T* pgk = target.grad.template data<T>();
            zip_broadcast<T>(yv2.shape(), av2.shape(), bv2.shape(), [=](int64_t i, int64_t ia, int64_t ib) {
              const T v = static_cast<T>(d(pg[i], pa[ia], pb[ib], py[i]));
              pgk[i] = add ? pgk[i] + v : v;
            });
            if (!direct) c.accumulate(k, target.grad);
          };
          one_side(0, da);
          one_side(1, db);
        });
      },
      tangent);
}

/// A binary op whose tangent is t_a * dy/da + t_b * dy/db (its derivative formulas, once).
template <class Value, class Da, class Db>
Tensor binary_op(const char* name, const Tensor& a, const Tensor& b, Value value, Da da, Db db) {
  return binary_op(name, a, b, value, da, db, [da, db](TangentContext& c) {
    const Tensor x = c.input(0), z = c.input(1), y = c.output();
    return c.sum([&](size_t i, const Tensor& t) {
      return t * (i == 0 ? binary_derivative<0>(x, z, y, da, db) : binary_derivative<1>(x, z, y, da, db));
    });
  });
}

/// The tensor form of an op of elementwise_math.hpp: y = Op::value(x), dL/dx = g * Op::partial(x, y).
template <class Op>
Tensor unary_math(const Tensor& x, const char* name = Op::kName) {
  return unary_op(
      name, x, [](auto v) { return Op::value(v); }, [](auto g, auto v, auto y) { return g * Op::partial(v, y); });
}

/// The tensor form of a binary op of elementwise_math.hpp (broadcasting), with its own tangent rule
/// when one is given (a cheaper one than the generic: add, sub, mul).
template <class Op, class... Tangent>
Tensor binary_math(const Tensor& a, const Tensor& b, const char* name = Op::kName, Tangent... tangent) {
  return binary_op(
      name, a, b, [](auto x, auto z) { return Op::value(x, z); },
      [](auto g, auto x, auto z, auto y) { return g * Op::da(x, z, y); },
      [](auto g, auto x, auto z, auto y) { return g * Op::db(x, z, y); }, tangent...);
}

}  // namespace tapegrad::detail
