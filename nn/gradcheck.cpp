#include "nn/gradcheck.hpp"

#include <cmath>
#include <random>

#include "autodiff/error.hpp"
#include "autodiff/tape.hpp"
#include "nn/higher_order.hpp"

namespace tapegrad::nn {

namespace {
double loss_at(const std::function<Tensor()>& loss) {
  Tape tape;
  const Tensor l = loss();
  if (l.numel() != 1) raise<ShapeError>("gradcheck: the loss must have one element, got shape {}", l.shape());
  return l.item();
}

/// The tape's gradient of loss() in the parameters (zeroed first), one Array per parameter.
std::vector<Array> gradient_at(const std::vector<Tensor>& params, const std::function<Tensor()>& loss) {
  Tape tape;
  for (Tensor p : params) p.zero_grad();
  const Tensor l = loss();
  if (l.numel() != 1) raise<ShapeError>("gradcheck: the loss must have one element, got shape {}", l.shape());
  l.backward();
  std::vector<Array> grads;
  for (const Tensor& p : params) grads.push_back(p.grad());
  return grads;
}

void check_float64(const NamedTensors& params) {
  if (params.empty()) raise<ValueError>("gradcheck: the model has no parameters");
  for (const auto& [name, p] : params)
    if (p.dtype() != DType::f64)
      raise<ValueError>("gradcheck: parameter '{}' is {}; check in float64 (model.to(DType::f64))", name,
                        dtype_name(p.dtype()));
}

/// Adds h d to the parameters' values.
void shift(const std::vector<Tensor>& params, const std::vector<Array>& d, double h) {
  for (size_t k = 0; k < params.size(); ++k) {
    Tensor p = params[k];
    Array& v = p.mutable_value();
    for (int64_t i = 0; i < v.numel(); ++i) v.set(i, v.at(i) + h * d[k].at(i));
  }
}

/// Records |numeric - analytic| and the first failure into result.
void compare(GradcheckResult& result, const GradcheckOptions& options, double numeric, double exact,
             const std::string& where) {
  const double err = std::abs(numeric - exact);
  result.max_abs_error = std::max(result.max_abs_error, err);
  if (result.ok && !(err <= options.atol + options.rtol * std::abs(numeric))) {
    result.ok = false;
    result.message =
        fmt::format("{}: numeric {:.10g}, analytic {:.10g} (|difference| {:.3g})", where, numeric, exact, err);
  }
}
}  // namespace

GradcheckResult gradgradcheck(Module& model, const std::function<Tensor()>& loss, GradcheckOptions options) {
  const NamedTensors named = model.named_parameters();
  check_float64(named);
  std::vector<Tensor> params;
  std::vector<Array> zeros;
  for (const auto& [name, p] : named) {
    params.push_back(p);
    zeros.emplace_back(p.shape());
  }
  GradcheckResult result;
  // d grad / d(direction), by central differences of the tape's gradient
  const auto numeric_column = [&](const std::vector<Array>& d, double h) {
    shift(params, d, h);
    const auto up = gradient_at(params, loss);
    shift(params, d, -2 * h);
    const auto down = gradient_at(params, loss);
    shift(params, d, h);
    std::vector<Array> column;
    for (size_t k = 0; k < params.size(); ++k) {
      Array c(params[k].shape());
      for (int64_t i = 0; i < c.numel(); ++i) c.set(i, (up[k].at(i) - down[k].at(i)) / (2 * h));
      column.push_back(std::move(c));
    }
    return column;
  };
  if (options.projections == 0) {
    std::vector<Array> e = zeros;
    for (size_t k = 0; k < params.size(); ++k)
      for (int64_t j = 0; j < e[k].numel(); ++j) {
        e[k].set(j, 1.0);
        const double h = options.eps * std::max(1.0, std::abs(params[k].value().at(j)));
        const auto numeric = numeric_column(e, h);
        const auto exact = hvp(model, loss, e);
        e[k].set(j, 0.0);
        for (size_t q = 0; q < params.size(); ++q)
          for (int64_t i = 0; i < exact[q].numel(); ++i)
            compare(result, options, numeric[q].at(i), exact[q].at(i),
                    fmt::format("d grad '{}'[{}] / d '{}'[{}]", named[q].first, i, named[k].first, j));
      }
    return result;
  }
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> normal;
  for (int r = 0; r < options.projections; ++r) {
    std::vector<Array> v = zeros, w = zeros;
    for (size_t k = 0; k < params.size(); ++k)
      for (int64_t i = 0; i < v[k].numel(); ++i) {
        v[k].set(i, normal(rng));
        w[k].set(i, normal(rng));
      }
    const auto numeric = numeric_column(v, options.eps);
    const auto exact = hvp(model, loss, v);
    double numeric_dot = 0, exact_dot = 0;
    for (size_t k = 0; k < params.size(); ++k)
      for (int64_t i = 0; i < v[k].numel(); ++i) {
        numeric_dot += w[k].at(i) * numeric[k].at(i);
        exact_dot += w[k].at(i) * exact[k].at(i);
      }
    compare(result, options, numeric_dot, exact_dot, fmt::format("random projection {} over all parameters", r));
  }
  return result;
}

GradcheckResult gradcheck(Module& model, const std::function<Tensor()>& loss, GradcheckOptions options) {
  const NamedTensors params = model.named_parameters();
  check_float64(params);
  std::vector<Tensor> tensors;
  for (const auto& [name, p] : params) tensors.push_back(p);
  const std::vector<Array> analytic = gradient_at(tensors, loss);  // the tape's gradients
  GradcheckResult result;
  if (options.projections == 0) {
    for (size_t k = 0; k < params.size(); ++k) {
      Tensor p = params[k].second;
      Array& v = p.mutable_value();
      for (int64_t i = 0; i < v.numel(); ++i) {
        const double x = v.at(i), h = options.eps * std::max(1.0, std::abs(x));
        v.set(i, x + h);
        const double up = loss_at(loss);
        v.set(i, x - h);
        const double down = loss_at(loss);
        v.set(i, x);
        compare(result, options, (up - down) / (2 * h), analytic[k].at(i),
                fmt::format("parameter '{}' element {}", params[k].first, i));
      }
    }
    return result;
  }
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> normal;
  for (int r = 0; r < options.projections; ++r) {
    std::vector<Array> dir;
    double exact = 0;
    for (size_t k = 0; k < params.size(); ++k) {
      Array d(params[k].second.shape());
      for (int64_t i = 0; i < d.numel(); ++i) {
        d.set(i, normal(rng));
        exact += d.at(i) * analytic[k].at(i);
      }
      dir.push_back(std::move(d));
    }
    const double h = options.eps;
    shift(tensors, dir, h);
    const double up = loss_at(loss);
    shift(tensors, dir, -2 * h);
    const double down = loss_at(loss);
    shift(tensors, dir, h);
    compare(result, options, (up - down) / (2 * h), exact, fmt::format("random projection {} over all parameters", r));
  }
  return result;
}

}  // namespace tapegrad::nn
