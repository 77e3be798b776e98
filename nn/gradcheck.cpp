#include "nn/gradcheck.hpp"

#include <cmath>
#include <random>

#include "autodiff/error.hpp"
#include "autodiff/tape.hpp"

namespace tapegrad::nn {

namespace {
double loss_at(const std::function<Tensor()>& loss) {
  Tape tape;
  const Tensor l = loss();
  if (l.numel() != 1) raise<ShapeError>("gradcheck: the loss must have one element, got shape {}", l.shape());
  return l.item();
}
}  // namespace

GradcheckResult gradcheck(Module& model, const std::function<Tensor()>& loss, GradcheckOptions options) {
  const NamedTensors params = model.named_parameters();
  if (params.empty()) raise<ValueError>("gradcheck: the model has no parameters");
  for (const auto& [name, p] : params)
    if (p.dtype() != DType::f64)
      raise<ValueError>("gradcheck: parameter '{}' is {}; check in float64 (model.to(DType::f64))", name,
                        dtype_name(p.dtype()));
  // The tape's gradients.
  std::vector<Array> analytic;
  {
    Tape tape;
    model.zero_grad();
    const Tensor l = loss();
    if (l.numel() != 1) raise<ShapeError>("gradcheck: the loss must have one element, got shape {}", l.shape());
    l.backward();
    for (const auto& [name, p] : params) analytic.push_back(p.grad());
  }
  GradcheckResult result;
  auto compare = [&](double numeric, double exact, const std::string& where) {
    const double err = std::abs(numeric - exact);
    result.max_abs_error = std::max(result.max_abs_error, err);
    if (result.ok && !(err <= options.atol + options.rtol * std::abs(numeric))) {
      result.ok = false;
      result.message =
          fmt::format("{}: numeric {:.10g}, analytic {:.10g} (|difference| {:.3g})", where, numeric, exact, err);
    }
  };
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
        compare((up - down) / (2 * h), analytic[k].at(i), fmt::format("parameter '{}' element {}", params[k].first, i));
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
    auto shift = [&](double h) {
      for (size_t k = 0; k < params.size(); ++k) {
        Tensor p = params[k].second;
        Array& v = p.mutable_value();
        for (int64_t i = 0; i < v.numel(); ++i) v.set(i, v.at(i) + h * dir[k].at(i));
      }
    };
    const double h = options.eps;
    shift(h);
    const double up = loss_at(loss);
    shift(-2 * h);
    const double down = loss_at(loss);
    shift(h);
    compare((up - down) / (2 * h), exact, fmt::format("random projection {} over all parameters", r));
  }
  return result;
}

}  // namespace tapegrad::nn
