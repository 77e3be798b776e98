#include "autodiff/ops/elementwise.hpp"

#include <cmath>
#include <numbers>

#include "autodiff/detail/recipes.hpp"

namespace tapegrad {

using detail::binary_math;
using detail::unary_math;
using detail::unary_op;

// clang-format off

// ---- tensor-tensor: the math is in elementwise_math.hpp, shared with the scalar ops ----

// Tangents of the linear and bilinear ops, cheaper than the generic t_a * da + t_b * db:
// d(a + b) = t_a + t_b, d(a - b) = t_a - t_b, d(a b) = t_a b + a t_b.
Tensor operator+(const Tensor& a, const Tensor& b) {
  return binary_math<math::AddOp>(a, b, "add", [](TangentContext& c) { return c.sum([](size_t, const Tensor& t) { return t; }); });
}
Tensor operator-(const Tensor& a, const Tensor& b) {
  return binary_math<math::SubOp>(a, b, "sub", [](TangentContext& c) { return c.sum([](size_t i, const Tensor& t) { return i == 0 ? t : -t; }); });
}
Tensor operator*(const Tensor& a, const Tensor& b) {
  return binary_math<math::MulOp>(a, b, "mul", [](TangentContext& c) { return c.sum([&c](size_t i, const Tensor& t) { return t * c.input(1 - i); }); });
}
Tensor operator/(const Tensor& a, const Tensor& b) { return binary_math<math::DivOp>(a, b); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary_math<math::PowOp>(a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary_math<math::MaxOp>(a, b, "maximum"); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary_math<math::MinOp>(a, b, "minimum"); }

// ---- tensor-scalar, and below, ops with a parameter: value and derivative, one lambda each ----

Tensor add_scalar(const Tensor& x, double s) {
  return unary_op("add_scalar", x, [s](auto v) { return v + decltype(v)(s); },
                  [](auto g, auto, auto) { return g; }, [](TangentContext& c) { return c.tangent(0); });
}
Tensor mul_scalar(const Tensor& x, double s) {
  return unary_op("mul_scalar", x, [s](auto v) { return v * decltype(v)(s); },
                  [s](auto g, auto, auto) { return g * decltype(g)(s); },
                  [s](TangentContext& c) { return c.tangent(0) * s; });
}
Tensor pow(const Tensor& x, double p) {
  return unary_op("pow_scalar", x, [p](auto v) { return std::pow(v, decltype(v)(p)); },
                  [p](auto g, auto v, auto) {
                    using math::pow;  // std::pow, or math::Dual's for the second derivative
                    return p == 0 ? decltype(g)(0) : g * decltype(g)(p) * pow(v, decltype(v)(p - 1));
                  });
}
Tensor operator+(const Tensor& x, double s) { return add_scalar(x, s); }
Tensor operator+(double s, const Tensor& x) { return add_scalar(x, s); }
Tensor operator-(const Tensor& x, double s) { return add_scalar(x, -s); }
Tensor operator-(double s, const Tensor& x) { return add_scalar(-x, s); }
Tensor operator*(const Tensor& x, double s) { return mul_scalar(x, s); }
Tensor operator*(double s, const Tensor& x) { return mul_scalar(x, s); }
Tensor operator/(const Tensor& x, double s) { return mul_scalar(x, 1.0 / s); }
Tensor operator/(double s, const Tensor& x) { return mul_scalar(pow(x, -1.0), s); }

// ---- unary ----

Tensor operator-(const Tensor& x) { return unary_math<math::NegOp>(x); }
Tensor exp(const Tensor& x) { return unary_math<math::ExpOp>(x); }
Tensor log(const Tensor& x) { return unary_math<math::LogOp>(x); }
Tensor sqrt(const Tensor& x) { return unary_math<math::SqrtOp>(x); }
Tensor abs(const Tensor& x) { return unary_math<math::AbsOp>(x); }
Tensor square(const Tensor& x) { return unary_math<math::SquareOp>(x); }
Tensor tanh(const Tensor& x) { return unary_math<math::TanhOp>(x); }
Tensor sigmoid(const Tensor& x) { return unary_math<math::SigmoidOp>(x); }
Tensor relu(const Tensor& x) { return unary_math<math::ReluOp>(x); }
Tensor softplus(const Tensor& x) { return unary_math<math::SoftplusOp>(x); }

// ---- ops with a parameter (tensor only) ----

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return unary_op("leaky_relu", x, [negative_slope](auto v) { return v > 0 ? v : v * decltype(v)(negative_slope); },
                  [negative_slope](auto g, auto v, auto) { return v > 0 ? g : g * decltype(g)(negative_slope); });
}
Tensor gelu(const Tensor& x) {  // x Phi(x), the exact (erf) form
  constexpr auto normal_cdf = []<class T>(T v) {
    using math::erf;  // std::erf, or math::Dual's for the second derivative
    return T(0.5) * (T(1) + erf(v * T(std::numbers::sqrt2 / 2)));
  };
  return unary_op("gelu", x, [normal_cdf](auto v) { return v * normal_cdf(v); },
                  [normal_cdf](auto g, auto v, auto) {  // d gelu = Phi(x) + x phi(x)
                    using T = decltype(v);
                    using math::exp;
                    const T pdf = exp(T(-0.5) * v * v) * T(std::numbers::inv_sqrtpi / std::numbers::sqrt2);
                    return g * (normal_cdf(v) + v * pdf);
                  });
}
Tensor clamp(const Tensor& x, double lo, double hi) {
  if (!(lo <= hi)) raise<ValueError>("clamp: lo must be <= hi, got lo {} and hi {}", lo, hi);
  return unary_op("clamp", x,
                  [lo, hi](auto v) {
                    using T = decltype(v);
                    return v < T(lo) ? T(lo) : (v > T(hi) ? T(hi) : v);
                  },
                  [lo, hi](auto g, auto v, auto) {
                    using T = decltype(v);
                    return v > T(lo) && v < T(hi) ? g : T(0);
                  });
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  OpRecord op("to_dtype", {&x});
  op.forward([&x = op.in(0), &y = op.output(op.in(0).shape(), dtype)] { y.assign(x); });
  return op.finish(
      [](BackwardContext& c) {
        Array& converted = c.scratch(c.input(0).shape(), c.input(0).dtype());
        converted.assign(c.grad_output());
        c.accumulate(0, converted);
      },
      [dtype](TangentContext& c) { return to_dtype(c.tangent(0), dtype); });
}

// clang-format on

// ---- where ----

Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
  const Tensor m = mask.detach();
  OpRecord op("where", {&m, &a, &b});
  const Array& mv = op.in(0);
  const Array& av = op.in(1);
  const Array& bv = op.in(2);
  const Shape out = broadcast_shape("where", mv.shape(), broadcast_shape("where", av.shape(), bv.shape()));
  Array& y = op.output(out, av.dtype());
  const std::array<Strides, 3> st{broadcast_strides(mv.shape(), out), broadcast_strides(av.shape(), out),
                                  broadcast_strides(bv.shape(), out)};
  op.forward([&mv, &av, &bv, &y, st] {
    visit(av.dtype(), [&]<class T>(T) {
      const T *pm = mv.data<T>(), *pa = av.data<T>(), *pb = bv.data<T>();
      T* py = y.data<T>();
      kernels::for_each_broadcast<3>(y.shape(), st, [=](int64_t i, const std::array<int64_t, 3>& o) {
        py[i] = pm[o[0]] != 0 ? pa[o[1]] : pb[o[2]];
      });
    });
  });
  return op.finish(
      [](BackwardContext& c) {
        const Array& mv2 = c.input(0);
        const Shape& out2 = c.output().shape();
        for (size_t k = 1; k <= 2; ++k) {
          if (!c.needs_grad(k)) continue;
          Array& g = c.scratch(out2, c.output().dtype());
          visit(g.dtype(), [&]<class T>(T) {
            const T* pm = mv2.data<T>();
            const T* pg = c.grad_output().data<T>();
            T* pd = g.template data<T>();
            const bool take_true = k == 1;
            kernels::for_each_broadcast<1>(out2, {broadcast_strides(mv2.shape(), out2)},
                                           [=](int64_t i, const std::array<int64_t, 1>& o) {
                                             pd[i] = ((pm[o[0]] != 0) == take_true) ? pg[i] : T(0);
                                           });
          });
          c.accumulate(k, g);
        }
      },
      [](TangentContext& c) {  // where(mask, t_a, t_b), a missing tangent being 0
        return c.sum([&c](size_t i, const Tensor& t) {
          const Tensor zero = Tensor::zeros({}, t.dtype());
          return i == 1 ? where(c.input(0), t, zero) : where(c.input(0), zero, t);
        });
      });
}

// ---- comparisons (no gradient) ----

namespace {
template <class Cmp>
Tensor compare(const char* name, const Tensor& a, const Tensor& b, Cmp cmp) {
  OpRecord op(name, {&a, &b});
  const Array& av = op.in(0);
  const Array& bv = op.in(1);
  const Shape out = broadcast_shape(name, av.shape(), bv.shape());
  Array& y = op.output(out, av.dtype());
  op.forward([&av, &bv, &y, cmp] {
    visit(av.dtype(), [&]<class T>(T) {
      const T *pa = av.data<T>(), *pb = bv.data<T>();
      T* py = y.data<T>();
      detail::zip_broadcast<T>(y.shape(), av.shape(), bv.shape(),
                               [=](int64_t i, int64_t ia, int64_t ib) { py[i] = cmp(pa[ia], pb[ib]) ? T(1) : T(0); });
    });
  });
  return op.finish_constant();
}
template <class Cmp>
Tensor compare_scalar(const char* name, const Tensor& a, double s, Cmp cmp) {
  OpRecord op(name, {&a});
  const Array& av = op.in(0);
  Array& y = op.output(av.shape(), av.dtype());
  op.forward([&av, &y, cmp, s] {
    visit(av.dtype(), [&]<class T>(T) {
      const T* pa = av.data<T>();
      T* py = y.data<T>();
      parallel_for(av.numel(), [=](int64_t i) { py[i] = cmp(double(pa[i]), s) ? T(1) : T(0); });
    });
  });
  return op.finish_constant();
}
}  // namespace

Tensor gt(const Tensor& a, const Tensor& b) {
  return compare("gt", a, b, [](auto x, auto y) { return x > y; });
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return compare("lt", a, b, [](auto x, auto y) { return x < y; });
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return compare("ge", a, b, [](auto x, auto y) { return x >= y; });
}
Tensor le(const Tensor& a, const Tensor& b) {
  return compare("le", a, b, [](auto x, auto y) { return x <= y; });
}
Tensor eq(const Tensor& a, const Tensor& b) {
  return compare("eq", a, b, [](auto x, auto y) { return x == y; });
}
Tensor gt(const Tensor& a, double b) {
  return compare_scalar("gt", a, b, [](double x, double y) { return x > y; });
}
Tensor lt(const Tensor& a, double b) {
  return compare_scalar("lt", a, b, [](double x, double y) { return x < y; });
}

}  // namespace tapegrad
