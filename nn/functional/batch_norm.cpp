#include "nn/functional/batch_norm.hpp"

#include <cmath>

#include "autodiff/op.hpp"
#include "autodiff/ops/reduce.hpp"
#include "autodiff/ops/shape_ops.hpp"

namespace tapegrad::nn {

namespace {

// x viewed as [outer, features, inner]: [m, features] is (m, features, 1), [batch, channels, h, w]
// is (batch, channels, h * w). Each feature's statistics run over outer x inner values.
struct BatchNormDims {
  int64_t outer, features, inner;
  bool affine, full;                               // full: the statistics depend on x (training in full mode)
  int64_t count() const { return outer * inner; }  // values per feature
};

// f(i, j) for every element i of feature j, vectorised over features when inner is 1 (the [m,
// features] layout), else over each feature's inner run.
template <class F>
void for_each_element(const BatchNormDims& d, F f) {
  const int64_t nf = d.features, inner = d.inner;
  for (int64_t o = 0; o < d.outer; ++o) {
    if (inner == 1) {
#pragma omp simd
      for (int64_t j = 0; j < nf; ++j) f(o * nf + j, j);
    } else {
      for (int64_t j = 0; j < nf; ++j) {
        const int64_t at = (o * nf + j) * inner;
#pragma omp simd
        for (int64_t k = 0; k < inner; ++k) f(at + k, j);
      }
    }
  }
}

// sums[j] += sum over feature j's elements i of term(i, j) (pass several terms through one pass
// with sums2: both are accumulated).
template <class T, class F>
void add_feature_sums(const BatchNormDims& d, T* sums, F term) {
  if (d.inner == 1) {
    for_each_element(d, [&](int64_t i, int64_t j) { sums[j] += term(i, j); });
    return;
  }
  for (int64_t o = 0; o < d.outer; ++o)
    for (int64_t j = 0; j < d.features; ++j) {
      const int64_t at = (o * d.features + j) * d.inner;
      T sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t k = 0; k < d.inner; ++k) sum += term(at + k, j);
      sums[j] += sum;
    }
}

void check_batch_norm(const char* who, const Array& x, const Tensor& gamma, const Tensor& beta, const Array* rm,
                      const Array* rv, bool training, const BatchNormOptions& o) {
  if (x.rank() != 2 && x.rank() != 4)
    raise<ShapeError>("{}: input must be [batch, features] or [batch, channels, height, width], got {}", who,
                      x.shape());
  const Shape features{x.shape()[1]};
  if (gamma.defined() != beta.defined())
    raise<ValueError>("{}: give both gamma and beta, or neither (no affine part)", who);
  if (gamma.defined() && (!(gamma.shape() == features) || !(beta.shape() == features)))
    raise<ShapeError>("{}: gamma and beta must be {} for input {}, got {} and {}", who, features, x.shape(),
                      gamma.shape(), beta.shape());
  for (const Array* r : {rm, rv})
    if (r && (!(r->shape() == features) || r->dtype() != x.dtype()))
      raise<ShapeError>("{}: running statistics must be {} {}, got {} {}", who, features, dtype_name(x.dtype()),
                        r->shape(), dtype_name(r->dtype()));
  if (!training && (!rm || !rv)) raise<ValueError>("{}: evaluation needs the running mean and variance", who);
  const int64_t per_feature = x.numel() / std::max<int64_t>(x.shape()[1], 1);
  if (training && x.rank() == 2 && x.shape()[0] < 2 && o.mode == BatchNormMode::full)
    raise<ValueError>("{}: training needs a batch of at least 2 examples, got {}", who, x.shape()[0]);
  if (training && per_feature < 2 && o.mode == BatchNormMode::full)
    raise<ValueError>("{}: training needs more than one value per channel, got input {}", who, x.shape());
  if (training && x.shape()[0] < 1) raise<ValueError>("{}: the batch is empty", who);
  check_options(who, o);
}

}  // namespace

void check_options(const char* who, const BatchNormOptions& o) {
  if (!(o.eps > 0.0) || !std::isfinite(o.eps)) raise<ValueError>("{}: eps must be positive, got {}", who, o.eps);
  if (!(o.momentum >= 0.0 && o.momentum <= 1.0))
    raise<ValueError>("{}: momentum must be in [0, 1], got {}", who, o.momentum);
}

namespace {

Tensor batch_norm_op(const char* who, const Tensor& x, const Tensor& gamma, const Tensor& beta, Array* running_mean,
                     Array* running_var, bool training, const BatchNormOptions& options,
                     BatchNormInternals* internals) {
  const Tensor* inputs[] = {&x, &gamma, &beta};
  OpRecord op("batch_norm", std::span<const Tensor* const>(inputs, gamma.defined() ? 3 : 1));
  const Array& xv = op.in(0);
  check_batch_norm(who, xv, gamma, beta, running_mean, running_var, training, options);
  const Shape& s = xv.shape();
  const BatchNormDims d{s[0], s[1], s.rank() == 4 ? s[2] * s[3] : 1, gamma.defined(),
                        training && options.mode == BatchNormMode::full};
  Array& y = op.output(s, xv.dtype());
  Array& xhat = op.save_for_backward(s, xv.dtype());
  Array& inv_std = op.save_for_backward(Shape{d.features}, xv.dtype());
  Array& mu = op.save_for_backward(Shape{d.features}, xv.dtype());
  const Array* gamma_v = d.affine ? &op.in(1) : nullptr;
  const Array* beta_v = d.affine ? &op.in(2) : nullptr;
  // Replay runs it again: the batch's statistics, the running statistics' update, x hat and y.
  const auto compute = [&xv, &y, &xhat, &inv_std, &mu, gamma_v, beta_v, running_mean, running_var, training, options, d,
                        internals] {
    visit(xv.dtype(), [&]<class T>(T) {
      const T* px = xv.data<T>();
      T* pmu = mu.data<T>();
      T* pinv = inv_std.data<T>();  // holds sigma^2 until the end of the statistics pass
      const int64_t f = d.features;
      const T count = static_cast<T>(d.count());
      if (training) {
        std::fill(pmu, pmu + f, T(0));
        std::fill(pinv, pinv + f, T(0));
        add_feature_sums(d, pmu, [px](int64_t i, int64_t) { return px[i]; });  // eq. 18
        for (int64_t j = 0; j < f; ++j) pmu[j] /= count;
        add_feature_sums(d, pinv, [px, pmu](int64_t i, int64_t j) { return (px[i] - pmu[j]) * (px[i] - pmu[j]); });
        for (int64_t j = 0; j < f; ++j) pinv[j] /= count;  // eq. 19
        if (internals) {
          internals->mean = mu;
          internals->var = inv_std;
        }
        if (running_mean && running_var) {
          T* rm = running_mean->data<T>();
          T* rv = running_var->data<T>();
          const T mom = static_cast<T>(options.momentum);
          const T unbias = d.count() > 1 ? count / (count - T(1)) : T(1);
          for (int64_t j = 0; j < f; ++j) {
            rm[j] = (1 - mom) * rm[j] + mom * pmu[j];
            rv[j] = (1 - mom) * rv[j] + mom * pinv[j] * unbias;
          }
        }
      } else {
        mu.assign(*running_mean);
        inv_std.assign(*running_var);
      }
      for (int64_t j = 0; j < f; ++j) pinv[j] = T(1) / std::sqrt(pinv[j] + static_cast<T>(options.eps));
      const T* pg = d.affine ? gamma_v->data<T>() : nullptr;
      const T* pb = d.affine ? beta_v->data<T>() : nullptr;
      T* ph = xhat.data<T>();
      T* py = y.data<T>();
      for_each_element(d, [=](int64_t i, int64_t j) {
        ph[i] = (px[i] - pmu[j]) * pinv[j];          // psihat
        py[i] = pg ? pg[j] * ph[i] + pb[j] : ph[i];  // eq. 17
      });
    });
  };
  if (internals)  // a caller's struct, filled by copies: a recording that fills one is not replayable
    compute();
  else
    op.forward(compute);
  if (internals && training) internals->xhat = xhat;
  const Array* kept_xhat = &xhat;
  const Array* kept_inv_std = &inv_std;
  return op.finish(
      [d, kept_xhat, kept_inv_std](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          const int64_t f = d.features;
          const T* g = c.grad_output().data<T>();
          const T* ph = kept_xhat->data<T>();
          const T* pinv = kept_inv_std->data<T>();
          if (d.affine && c.needs_grad(1))  // eq. 22
            add_feature_sums(d, c.grad_input(1).template data<T>(),
                             [g, ph](int64_t i, int64_t) { return g[i] * ph[i]; });
          if (d.affine && c.needs_grad(2))  // eq. 23
            add_feature_sums(d, c.grad_input(2).template data<T>(), [g](int64_t i, int64_t) { return g[i]; });
          if (!c.needs_grad(0)) return;
          const T* pg = d.affine ? c.input(1).data<T>() : nullptr;
          T* gx = c.grad_input(0).template data<T>();
          // lambdahat = gamma dL/dy (eq. 20); its means per feature, plain and weighted by xhat (full mode)
          Array& sums = c.scratch(Shape{2, f}, c.output().dtype());
          T* mean_l = sums.data<T>();
          T* mean_lx = mean_l + f;
          std::fill(mean_l, mean_l + 2 * f, T(0));
          if (d.full) {
            add_feature_sums(d, mean_l, [g](int64_t i, int64_t) { return g[i]; });
            add_feature_sums(d, mean_lx, [g, ph](int64_t i, int64_t) { return g[i] * ph[i]; });
            const T count = static_cast<T>(d.count());
            for (int64_t j = 0; j < f; ++j) {
              const T scale = (pg ? pg[j] : T(1)) / count;
              mean_l[j] *= scale;
              mean_lx[j] *= scale;
            }
          }
          for_each_element(d, [=](int64_t i, int64_t j) {
            const T l = pg ? pg[j] * g[i] : g[i];
            gx[i] += (l - mean_l[j] - ph[i] * mean_lx[j]) * pinv[j];  // eq. 21 when the means are 0
          });
        });
      },
      [&](TangentContext& c) {  // the tangent of the composite definition, eq. 17-19
        if (training && options.mode == BatchNormMode::seed)
          raise<TapeError>(
              "batch_norm: seed mode's backward holds the batch statistics fixed (eq. 21), which is not the gradient "
              "of its forward, so it has no tangent and no second derivative; use BatchNormMode::full for those");
        return c.tangent_of([&] {
          // per-feature values broadcast over x: [features] as is for [m, features], [channels, 1, 1]
          // for [batch, channels, height, width]
          const bool planes = d.inner > 1 || c.input(0).rank() == 4;
          const auto per_feature = [&](const Tensor& t) { return planes ? reshape(t, {d.features, 1, 1}) : t; };
          const Tensor psi = c.input(0);
          Tensor psihat;
          if (d.full) {  // the statistics depend on psi
            const int rows[] = {0}, planes_axes[] = {0, 2, 3};
            const std::span<const int> axes = planes ? std::span<const int>(planes_axes) : std::span<const int>(rows);
            const Tensor centered = psi - mean(psi, axes, true);                              // eq. 18
            psihat = centered * pow(mean(square(centered), axes, true) + options.eps, -0.5);  // eq. 19
          } else {  // running statistics (evaluation): constants
            psihat = (psi - per_feature(Tensor(mu))) * per_feature(Tensor(inv_std));
          }
          return d.affine ? per_feature(c.input(1)) * psihat + per_feature(c.input(2)) : psihat;  // eq. 17
        });
      });
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Array* running_mean, Array* running_var,
                  bool training, const BatchNormOptions& options, BatchNormInternals* internals) {
  return batch_norm_op("batch_norm", x, gamma, beta, running_mean, running_var, training, options, internals);
}

Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Array* running_mean, Array* running_var,
                    bool training, const BatchNormOptions& options, BatchNormInternals* internals) {
  if (x.rank() != 4)
    raise<ShapeError>("BatchNorm2d: input must be [batch, channels, height, width], got {}", x.shape());
  return batch_norm_op("BatchNorm2d", x, gamma, beta, running_mean, running_var, training, options, internals);
}

}  // namespace tapegrad::nn
