#include "nn/functional/loss.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autodiff/error.hpp"
#include "autodiff/op.hpp"
#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/reduce.hpp"
#include "autodiff/ops/shape_ops.hpp"
#include "autodiff/ops/softmax.hpp"

namespace tapegrad::nn {

namespace {

/// Combines per-term losses: their mean over `count` terms, their sum, or the terms themselves.
/// A mean over no terms is undefined (0/0): an error, as mean() raises, never NaN.
void check_mean_of(const char* loss, int64_t count, const Shape& shape) {
  if (count == 0) raise<ShapeError>("{}: Reduction::mean over zero elements (shape {}) is undefined", loss, shape);
}

Tensor reduce(const char* loss, const Tensor& terms, int64_t count, Reduction reduction) {
  switch (reduction) {
    case Reduction::sum: return sum(terms);
    case Reduction::mean:
      check_mean_of(loss, count, terms.shape());
      return sum(terms) * (1.0 / static_cast<double>(count));
    case Reduction::none: return terms;
  }
  return terms;
}

void check_classes(const char* op, const Shape& scores, std::span<const int64_t> targets) {
  if (scores.rank() != 2) raise<ShapeError>("{}: scores must be [batch, classes], got {}", op, scores);
  const int64_t m = scores[0], classes = scores[1];
  if (static_cast<int64_t>(targets.size()) != m)
    raise<ShapeError>("{}: {} targets for scores {}", op, targets.size(), scores);
  if (m == 0) raise<ValueError>("{}: the batch is empty (its mean would be NaN)", op);
  for (size_t i = 0; i < targets.size(); ++i)
    if (targets[i] < 0 || targets[i] >= classes)
      raise<ValueError>("{}: target {} of example {} is not a class in [0, {})", op, targets[i], i, classes);
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, std::span<const int64_t> targets, Reduction reduction,
                     double label_smoothing) {
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    raise<ValueError>("cross_entropy: label_smoothing must be in [0, 1], got {}", label_smoothing);
  OpRecord op("cross_entropy", {&logits});
  const Array& z = op.in(0);
  check_classes("cross_entropy", z.shape(), targets);
  const int64_t m = z.shape()[0], classes = z.shape()[1];
  Array& loss = op.output(reduction == Reduction::none ? Shape{m} : Shape{}, z.dtype());
  Array& probs = op.save_for_backward(z.shape(), z.dtype());  // softmax(z), kept for the backward pass
  const double on = 1.0 - label_smoothing, spread = label_smoothing / static_cast<double>(classes);
  // The targets are copied for the backward pass; replay copies the caller's buffer again (a static
  // buffer, as a CUDA graph's: same size and storage, contents changed in place).
  int64_t* labels = op.save_for_backward<int64_t>(targets.size());  // filled by the forward below
  op.forward([&z, &loss, &probs, source = targets.data(), labels, m, classes, on, spread, reduction] {
    std::copy(source, source + m, labels);
    check_classes("cross_entropy", z.shape(), std::span<const int64_t>(labels, size_t(m)));
    visit(z.dtype(), [&]<class T>(T) {
      const T* pz = z.data<T>();
      T* pp = probs.data<T>();
      T* pl = loss.data<T>();
      double total = 0.0;
      for (int64_t i = 0; i < m; ++i) {
        const T* row = pz + i * classes;
        T* prow = pp + i * classes;
        T top = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < classes; ++j) top = row[j] > top || row[j] != row[j] ? row[j] : top;  // NaN wins
        T sum_exp = 0;
#pragma omp simd reduction(+ : sum_exp)
        for (int64_t j = 0; j < classes; ++j) {
          prow[j] = std::exp(row[j] - top);
          sum_exp += prow[j];
        }
        const T inv = T(1) / sum_exp;
#pragma omp simd
        for (int64_t j = 0; j < classes; ++j) prow[j] *= inv;
        // -sum_j q_j log p_j with q = on * onehot + spread and -log p_j = log(sum_exp) - (z_j - top):
        // the max stays out of the log (exact for huge logits), and a class with q_j = 0 adds nothing
        // even where log p_j = -inf (never 0 * inf).
        const double log_sum = std::log(static_cast<double>(sum_exp)), shift = static_cast<double>(top);
        const auto neg_log_p = [&](int64_t j) { return log_sum - (static_cast<double>(row[j]) - shift); };
        double term = on > 0.0 ? on * neg_log_p(labels[i]) : 0.0;
        if (spread > 0.0) {
          double smoothed = 0.0;
          for (int64_t j = 0; j < classes; ++j) smoothed += neg_log_p(j);
          term += spread * smoothed;
        }
        if (reduction == Reduction::none)
          pl[i] = static_cast<T>(term);
        else
          total += term;
      }
      if (reduction != Reduction::none)
        pl[0] = static_cast<T>(reduction == Reduction::mean ? total / static_cast<double>(m) : total);
    });
  });
  const Array* kept = &probs;
  return op.finish(
      [=](BackwardContext& c) {
        visit(c.output().dtype(), [&]<class T>(T) {
          const T* pp = kept->data<T>();
          const T* g = c.grad_output().data<T>();
          T* gz = c.grad_input(0).template data<T>();
          const T scale = reduction == Reduction::mean ? T(1) / static_cast<T>(m) : T(1);
          for (int64_t i = 0; i < m; ++i) {  // dL/dz_ij = g_i (p_ij - q_ij)
            const T gi = (reduction == Reduction::none ? g[i] : g[0]) * scale;
            const T* prow = pp + i * classes;
            T* grow = gz + i * classes;
#pragma omp simd
            for (int64_t j = 0; j < classes; ++j) grow[j] += gi * (prow[j] - static_cast<T>(spread));
            grow[labels[i]] -= gi * static_cast<T>(on);
          }
        });
      },
      [&](TangentContext& c) {  // d term_i = sum_j (p_ij - q_ij) dz_ij, p = softmax(z) kept differentiable
        const Tensor& dz = c.tangent(0);
        const int classes_axis[] = {1};
        Tensor terms = sum(exp(log_softmax(c.input(0), 1)) * dz, classes_axis);
        if (on > 0.0) terms = terms - reshape(gather(dz, 1, targets, Shape{m, 1}), {m}) * on;
        if (spread > 0.0) terms = terms - sum(dz, classes_axis) * spread;
        return reduce("cross_entropy", terms, m, reduction);
      });
}

Tensor nll_loss(const Tensor& log_probs, std::span<const int64_t> targets, Reduction reduction) {
  check_classes("nll_loss", log_probs.shape(), targets);
  const int64_t m = log_probs.shape()[0];
  return reduce("nll_loss", -reshape(gather(log_probs, 1, targets, Shape{m, 1}), {m}), m, reduction);
}

Tensor mse_loss(const Tensor& prediction, const Tensor& target, Reduction reduction) {
  if (!(prediction.shape() == target.shape()))
    raise<ShapeError>("mse_loss: prediction and target shapes differ, got {} and {}", prediction.shape(),
                      target.shape());
  return reduce("mse_loss", square(prediction - target), prediction.numel(), reduction);
}

Tensor sse_loss(const Tensor& prediction, const Tensor& target, Reduction reduction) {
  if (!(prediction.shape() == target.shape()))
    raise<ShapeError>("sse_loss: prediction and target shapes differ, got {} and {}", prediction.shape(),
                      target.shape());
  if (prediction.rank() == 0) raise<ShapeError>("sse_loss: need a batch axis, got a scalar prediction");
  const int64_t m = prediction.shape()[0];
  if (m == 0) raise<ValueError>("sse_loss: the batch is empty (its mean would be NaN)");
  const Tensor per_example = reshape(square(prediction - target), {m, -1});
  return reduce("sse_loss", sum(per_example, {1}) * 0.5, m, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
  if (!(logits.shape() == target.shape()))
    raise<ShapeError>("binary_cross_entropy_with_logits: logits and target shapes differ, got {} and {}",
                      logits.shape(), target.shape());
  return reduce("binary_cross_entropy_with_logits", softplus(logits) - logits * target, logits.numel(), reduction);
}

}  // namespace tapegrad::nn
