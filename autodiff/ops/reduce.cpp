#include "autodiff/ops/reduce.hpp"

#include <cmath>
#include <limits>

#include "autodiff/detail/kernels.hpp"
#include "autodiff/detail/recipes.hpp"
#include "autodiff/op.hpp"
#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/shape_ops.hpp"

namespace tapegrad {

namespace {

/// The result shape: `kept` (reduced axes as 1) with those axes dropped unless keepdim.
Shape output_shape(const Shape& x, const Shape& kept, Axes axes, bool keepdim) {
  if (keepdim) return kept;
  std::array<int64_t, kMaxRank> dims{};
  size_t r = 0;
  for (int i = 0; i < x.rank(); ++i) {
    bool reduced = axes.empty();
    for (int a : axes) reduced = reduced || normalize_axis("reduce", a, x.rank()) == i;
    if (!reduced) dims[r++] = x[i];
  }
  return Shape(std::span<const int64_t>(dims.data(), r));
}

/// out[kept index] = fold over x of combine(acc, x), starting from init.
template <class T, class Combine>
void fold(const Array& x, const Shape& kept, Array& out, T init, Combine combine) {
  T* o = out.data<T>();
  const T* px = x.data<T>();
  for (int64_t i = 0; i < out.numel(); ++i) o[i] = init;
  kernels::for_each_broadcast<1>(
      x.shape(), {broadcast_strides(kept, x.shape())},
      [&](int64_t i, const std::array<int64_t, 1>& k) { o[k[0]] = combine(o[k[0]], px[i]); });
}

/// max/min: ties share the gradient, so the backward counts them.
template <class Better>
Tensor extremum(const char* name, const Tensor& x, Axes axes, bool keepdim, Better better) {
  if (x.numel() == 0) raise<ShapeError>("{}: cannot reduce an empty tensor of shape {}", name, x.shape());
  OpRecord op(name, {&x});
  const Array& xv = op.in(0);
  const Shape kept = reduced_shape(name, xv.shape(), axes);
  Array& y = op.output(kept, xv.dtype());
  op.forward([&xv, &y, kept, shape = output_shape(xv.shape(), kept, axes, keepdim), better] {
    y.reshape_in_place(kept);
    visit(xv.dtype(), [&]<class T>(T) {
      fold<T>(xv, kept, y,
              better(T(1), T(0)) ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity(),
              [&](T acc, T v) { return better(v, acc) || v != v ? v : acc; });  // a NaN wins, and stays
    });
    y.reshape_in_place(shape);
  });
  return op.finish(
      [kept](BackwardContext& c) {
        const Array& xa = c.input(0);
        Array& count = c.scratch(kept, xa.dtype());
        visit(xa.dtype(), [&]<class T>(T) {
          const auto v = detail::unary_grad<T>(c);
          T* pc = count.data<T>();
          const std::array<Strides, 1> st{broadcast_strides(kept, xa.shape())};
          for (int64_t i = 0; i < count.numel(); ++i) pc[i] = 0;
          kernels::for_each_broadcast<1>(xa.shape(), st, [&](int64_t i, const std::array<int64_t, 1>& k) {
            if (v.x[i] == v.y[k[0]]) pc[k[0]] += 1;
          });
          kernels::for_each_broadcast<1>(xa.shape(), st, [&](int64_t i, const std::array<int64_t, 1>& k) {
            if (v.x[i] == v.y[k[0]]) v.gx[i] += v.g[k[0]] / pc[k[0]];
          });
        });
      },
      [&](TangentContext& c) {  // the mean of the tangents where x attains the extremum (ties share)
        const Tensor at = eq(c.input(0), reshape(c.output(), kept.dims()));  // a constant mask
        return sum(c.tangent(0) * at, axes, keepdim) / sum(at, axes, keepdim);
      });
}

}  // namespace

Tensor sum(const Tensor& x, Axes axes, bool keepdim) {
  OpRecord op("sum", {&x});
  const Array& xv = op.in(0);
  const Shape kept = reduced_shape("sum", xv.shape(), axes);
  Array& y = op.output(kept, xv.dtype());
  op.forward([&xv, &y, kept, shape = output_shape(xv.shape(), kept, axes, keepdim)] {
    kernels::sum_to(xv, kept, y);
    y.reshape_in_place(shape);
  });
  return op.finish(
      [kept](BackwardContext& c) {  // d sum / dx_i = 1: broadcast g back
        Array& g = c.scratch(c.input(0).shape(), c.input(0).dtype());
        kernels::broadcast_to(c.grad_output(), kept, c.input(0).shape(), g);
        c.accumulate(0, g);
      },
      [&](TangentContext& c) { return sum(c.tangent(0), axes, keepdim); });
}

Tensor mean(const Tensor& x, Axes axes, bool keepdim) {
  const Shape kept = reduced_shape("mean", x.shape(), axes);
  const int64_t count = x.numel() / std::max<int64_t>(kept.numel(), 1);
  if (count == 0) raise<ShapeError>("mean: cannot average over zero elements, got shape {}", x.shape());
  return sum(x, axes, keepdim) * (1.0 / static_cast<double>(count));
}

Tensor max(const Tensor& x, Axes axes, bool keepdim) {
  return extremum("max", x, axes, keepdim, [](auto a, auto b) { return a > b; });
}
Tensor min(const Tensor& x, Axes axes, bool keepdim) {
  return extremum("min", x, axes, keepdim, [](auto a, auto b) { return a < b; });
}

// lse = m + log sum_i e_i with m the largest x_i and e_i = exp(x_i - m), kept for the backward:
// d lse / dx_i = exp(x_i - lse) = e_i / sum_j e_j (softmax), so the sweep takes no second exp.
Tensor logsumexp(const Tensor& x, Axes axes, bool keepdim) {
  if (x.numel() == 0) raise<ShapeError>("logsumexp: cannot reduce an empty tensor of shape {}", x.shape());
  OpRecord op("logsumexp", {&x});
  const Array& xv = op.in(0);
  const Shape kept = reduced_shape("logsumexp", xv.shape(), axes);
  Array& y = op.output(kept, xv.dtype());
  Array& e = op.save_for_backward(xv.shape(), xv.dtype());      // e_i
  Array& inverse_sum = op.save_for_backward(kept, xv.dtype());  // the largest x_i, then 1 / sum_j e_j
  op.forward([&xv, &y, &e, &inverse_sum, kept, shape = output_shape(xv.shape(), kept, axes, keepdim)] {
    y.reshape_in_place(kept);
    visit(xv.dtype(), [&]<class T>(T) {
      fold<T>(xv, kept, inverse_sum, -std::numeric_limits<T>::infinity(),
              [](T acc, T v) { return v > acc || v != v ? v : acc; });  // a NaN max makes lse NaN
      T* pm = inverse_sum.data<T>();
      const T* px = xv.data<T>();
      T* pe = e.data<T>();
      T* py = y.data<T>();
      for (int64_t k = 0; k < y.numel(); ++k) {
        if (!std::isfinite(pm[k])) pm[k] = 0;  // all -inf: lse = -inf
        py[k] = 0;
      }
      if (y.numel() == 1) {  // every axis: one contiguous pass
        const T top = pm[0];
        T total = 0;
        for (int64_t i = 0; i < xv.numel(); ++i) total += pe[i] = std::exp(px[i] - top);
        py[0] = total;
      } else {
        kernels::for_each_broadcast<1>(
            xv.shape(), {broadcast_strides(kept, xv.shape())},
            [&](int64_t i, const std::array<int64_t, 1>& k) { py[k[0]] += pe[i] = std::exp(px[i] - pm[k[0]]); });
      }
      for (int64_t k = 0; k < y.numel(); ++k) {
        const T total = py[k];
        py[k] = std::log(total) + pm[k];
        pm[k] = T(1) / total;
      }
    });
    y.reshape_in_place(shape);
  });
  return op.finish(
      [kept, &e, &inverse_sum](BackwardContext& c) {  // d lse / dx_i = e_i / sum_j e_j = softmax_i
        const Array& xa = c.input(0);
        visit(xa.dtype(), [&]<class T>(T) {
          const T* g = c.grad_output().data<T>();
          const T* pe = e.data<T>();
          const T* inverse = inverse_sum.data<T>();
          T* gx = c.grad_input(0).template data<T>();
          if (inverse_sum.numel() == 1) {
            const T factor = g[0] * inverse[0];
            for (int64_t i = 0; i < xa.numel(); ++i) gx[i] += factor * pe[i];
            return;
          }
          kernels::for_each_broadcast<1>(
              xa.shape(), {broadcast_strides(kept, xa.shape())},
              [&](int64_t i, const std::array<int64_t, 1>& k) { gx[i] += g[k[0]] * inverse[k[0]] * pe[i]; });
        });
      },
      [&](TangentContext& c) {  // sum_i softmax_i dx_i
        return sum(c.tangent(0) * exp(c.input(0) - reshape(c.output(), kept.dims())), axes, keepdim);
      });
}

}  // namespace tapegrad
