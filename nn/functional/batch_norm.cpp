#include "nn/functional/batch_norm.hpp"

#include <cmath>

#include "autodiff/op.hpp"
#include "autodiff/ops/reduce.hpp"
#include "autodiff/ops/shape_ops.hpp"

namespace tapegrad::nn {

namespace {

struct BatchNormDims {
  int64_t m, features;
  bool affine, full;  // full: the statistics depend on x (training in full mode)
};

void check_batch_norm(const Array& x, const Tensor& gamma, const Tensor& beta, const Array* rm, const Array* rv,
                      bool training, const BatchNormOptions& o) {
  if (x.rank() != 2) raise<ShapeError>("batch_norm: input must be [batch, features], got {}", x.shape());
  const Shape features{x.shape()[1]};
  if (gamma.defined() != beta.defined())
    raise<ValueError>("batch_norm: give both gamma and beta, or neither (no affine part)");
  if (gamma.defined() && (!(gamma.shape() == features) || !(beta.shape() == features)))
    raise<ShapeError>("batch_norm: gamma and beta must be {} for input {}, got {} and {}", features, x.shape(),
                      gamma.shape(), beta.shape());
  for (const Array* r : {rm, rv})
    if (r && (!(r->shape() == features) || r->dtype() != x.dtype()))
      raise<ShapeError>("batch_norm: running statistics must be {} {}, got {} {}", features, dtype_name(x.dtype()),
                        r->shape(), dtype_name(r->dtype()));
  if (!training && (!rm || !rv)) raise<ValueError>("batch_norm: evaluation needs the running mean and variance");
  if (training && x.shape()[0] < 2 && o.mode == BatchNormMode::full)
    raise<ValueError>("batch_norm: training needs a batch of at least 2 examples, got {}", x.shape()[0]);
  if (training && x.shape()[0] < 1) raise<ValueError>("batch_norm: the batch is empty");
  check_options("batch_norm", o);
}

}  // namespace

void check_options(const char* who, const BatchNormOptions& o) {
  if (!(o.eps > 0.0) || !std::isfinite(o.eps)) raise<ValueError>("{}: eps must be positive, got {}", who, o.eps);
  if (!(o.momentum >= 0.0 && o.momentum <= 1.0))
    raise<ValueError>("{}: momentum must be in [0, 1], got {}", who, o.momentum);
}

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Array* running_mean, Array* running_var,
                  bool training, const BatchNormOptions& options, BatchNormInternals* internals) {
  const Tensor* inputs[] = {&x, &gamma, &beta};
  OpRecord op("batch_norm", std::span<const Tensor* const>(inputs, gamma.defined() ? 3 : 1));
  const Array& xv = op.in(0);
  check_batch_norm(xv, gamma, beta, running_mean, running_var, training, options);
  const BatchNormDims d{xv.shape()[0], xv.shape()[1], gamma.defined(), training && options.mode == BatchNormMode::full};
  Array& y = op.output(xv.shape(), xv.dtype());
  Array& xhat = op.save_for_backward(xv.shape(), xv.dtype());
  Array& inv_std = op.save_for_backward(Shape{d.features}, xv.dtype());
  Array& mu = op.save_for_backward(Shape{d.features}, xv.dtype());
  visit(xv.dtype(), [&]<class T>(T) {
    const T* px = xv.data<T>();
    T* pmu = mu.data<T>();
    T* pinv = inv_std.data<T>();  // holds sigma^2 until the end of the statistics pass
    const int64_t m = d.m, f = d.features;
    if (training) {
      std::fill(pmu, pmu + f, T(0));
      std::fill(pinv, pinv + f, T(0));
      for (int64_t i = 0; i < m; ++i)
#pragma omp simd
        for (int64_t j = 0; j < f; ++j) pmu[j] += px[i * f + j];  // eq. 18
      for (int64_t j = 0; j < f; ++j) pmu[j] /= static_cast<T>(m);
      for (int64_t i = 0; i < m; ++i)
#pragma omp simd
        for (int64_t j = 0; j < f; ++j) pinv[j] += (px[i * f + j] - pmu[j]) * (px[i * f + j] - pmu[j]);  // eq. 19
      for (int64_t j = 0; j < f; ++j) pinv[j] /= static_cast<T>(m);
      if (internals) {
        internals->mean = mu;
        internals->var = inv_std;
      }
      if (running_mean && running_var) {
        T* rm = running_mean->data<T>();
        T* rv = running_var->data<T>();
        const T mom = static_cast<T>(options.momentum);
        const T unbias = m > 1 ? static_cast<T>(m) / static_cast<T>(m - 1) : T(1);
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
    const T* pg = d.affine ? op.in(1).data<T>() : nullptr;
    const T* pb = d.affine ? op.in(2).data<T>() : nullptr;
    T* ph = xhat.data<T>();
    T* py = y.data<T>();
    for (int64_t i = 0; i < m; ++i)
#pragma omp simd
      for (int64_t j = 0; j < f; ++j) {
        ph[i * f + j] = (px[i * f + j] - pmu[j]) * pinv[j];                  // psihat
        py[i * f + j] = pg ? pg[j] * ph[i * f + j] + pb[j] : ph[i * f + j];  // eq. 17
      }
  });
  if (internals && training) internals->xhat = xhat;
  const Array* kept_xhat = &xhat;
  const Array* kept_inv_std = &inv_std;
  return op.finish(
      [d, kept_xhat, kept_inv_std](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          const int64_t m = d.m, f = d.features;
          const T* g = c.grad_output().data<T>();
          const T* ph = kept_xhat->data<T>();
          const T* pinv = kept_inv_std->data<T>();
          if (d.affine && c.needs_grad(1)) {  // eq. 22
            T* gg = c.grad_input(1).template data<T>();
            for (int64_t i = 0; i < m; ++i)
#pragma omp simd
              for (int64_t j = 0; j < f; ++j) gg[j] += g[i * f + j] * ph[i * f + j];
          }
          if (d.affine && c.needs_grad(2)) {  // eq. 23
            T* gb = c.grad_input(2).template data<T>();
            for (int64_t i = 0; i < m; ++i)
#pragma omp simd
              for (int64_t j = 0; j < f; ++j) gb[j] += g[i * f + j];
          }
          if (!c.needs_grad(0)) return;
          const T* pg = d.affine ? c.input(1).data<T>() : nullptr;
          T* gx = c.grad_input(0).template data<T>();
          // lambdahat = gamma dL/dy (eq. 20); its column means, plain and weighted by xhat (full mode)
          Array& sums = c.scratch(Shape{2, f}, c.output().dtype());
          T* mean_l = sums.data<T>();
          T* mean_lx = mean_l + f;
          std::fill(mean_l, mean_l + 2 * f, T(0));
          if (d.full) {
            for (int64_t i = 0; i < m; ++i)
#pragma omp simd
              for (int64_t j = 0; j < f; ++j) {
                const T l = pg ? pg[j] * g[i * f + j] : g[i * f + j];
                mean_l[j] += l;
                mean_lx[j] += l * ph[i * f + j];
              }
            for (int64_t j = 0; j < 2 * f; ++j) mean_l[j] /= static_cast<T>(m);
          }
          for (int64_t i = 0; i < m; ++i)
#pragma omp simd
            for (int64_t j = 0; j < f; ++j) {
              const T l = pg ? pg[j] * g[i * f + j] : g[i * f + j];
              gx[i * f + j] += (l - mean_l[j] - ph[i * f + j] * mean_lx[j]) * pinv[j];  // eq. 21 when the means are 0
            }
        });
      },
      [&](TangentContext& c) {  // the tangent of the composite definition, eq. 17-19
        if (training && options.mode == BatchNormMode::seed)
          raise<TapeError>(
              "batch_norm: seed mode's backward holds the batch statistics fixed (eq. 21), which is not the gradient "
              "of "
              "its forward, so it has no tangent and no second derivative; use BatchNormMode::full for those");
        return c.tangent_of([&] {
          const Tensor psi = c.input(0);
          Tensor psihat;
          if (d.full) {  // the statistics depend on psi
            const int batch_axis[] = {0};
            const Tensor centered = psi - mean(psi, batch_axis, true);                              // eq. 18
            psihat = centered * pow(mean(square(centered), batch_axis, true) + options.eps, -0.5);  // eq. 19
          } else {  // running statistics (evaluation): constants
            psihat = (psi - Tensor(mu)) * Tensor(inv_std);
          }
          return d.affine ? c.input(1) * psihat + c.input(2) : psihat;  // eq. 17
        });
      });
}

Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Array* running_mean, Array* running_var,
                    bool training, const BatchNormOptions& options, BatchNormInternals* internals) {
  if (x.rank() != 4)
    raise<ShapeError>("BatchNorm2d: input must be [batch, channels, height, width], got {}", x.shape());
  const Shape& s = x.shape();
  const Tensor rows = reshape(permute(x, {0, 2, 3, 1}), {s[0] * s[2] * s[3], s[1]});  // channels last
  const Tensor y = batch_norm(rows, gamma, beta, running_mean, running_var, training, options, internals);
  return permute(reshape(y, {s[0], s[2], s[3], s[1]}), {0, 3, 1, 2});
}

}  // namespace tapegrad::nn
