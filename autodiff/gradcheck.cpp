#include "autodiff/gradcheck.hpp"

#include <cmath>
#include <random>

#include "autodiff/error.hpp"
#include "autodiff/higher_order.hpp"

namespace tapegrad {

namespace {

/// A function seen by the checker: flat inputs in, flat outputs out, and its vector-Jacobian
/// product at the base point.
struct Probe {
  std::function<std::vector<double>(const std::vector<double>&)> evaluate;
  std::function<std::vector<double>(const std::vector<double>& seed)> vjp;
  std::function<std::string(size_t input)> describe;
  const char* check = "gradcheck";  ///< names the check and what it differentiates in messages
  const char* output = "output";
};

bool close(double numeric, double analytic, const GradcheckOptions& o) {
  const double diff = std::abs(numeric - analytic);
  return diff <= o.atol + o.rtol * std::abs(numeric) || (std::isnan(numeric) && std::isnan(analytic));
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

GradcheckResult run(const Probe& p, const std::vector<double>& x, const GradcheckOptions& o) {
  GradcheckResult result;
  const size_t m = p.evaluate(x).size();
  auto fail = [&](std::string msg) {
    if (result.ok) result.message = std::move(msg);
    result.ok = false;
  };
  auto note = [&](double numeric, double analytic) {
    result.max_abs_error = std::max(result.max_abs_error, std::abs(numeric - analytic));
  };
  if (o.projections == 0) {
    // Numeric Jacobian, column by column.
    std::vector<std::vector<double>> numeric(x.size());
    for (size_t j = 0; j < x.size(); ++j) {
      const double h = o.eps * std::max(1.0, std::abs(x[j]));
      std::vector<double> xp = x, xm = x;
      xp[j] += h;
      xm[j] -= h;
      const auto fp = p.evaluate(xp), fm = p.evaluate(xm);
      numeric[j].resize(m);
      for (size_t i = 0; i < m; ++i) numeric[j][i] = (fp[i] - fm[i]) / (2 * h);
    }
    // Analytic Jacobian, row by row (one backward per output element).
    for (size_t i = 0; i < m; ++i) {
      std::vector<double> seed(m, 0.0);
      seed[i] = 1.0;
      const auto row = p.vjp(seed);
      for (size_t j = 0; j < x.size(); ++j) {
        note(numeric[j][i], row[j]);
        if (!close(numeric[j][i], row[j], o))
          fail(fmt::format("{}: d {}[{}] / d {} (value {}): numeric {:.12g}, analytic {:.12g}", p.check, p.output, i,
                           p.describe(j), x[j], numeric[j][i], row[j]));
      }
    }
    return result;
  }
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<double> normal;
  for (int k = 0; k < o.projections; ++k) {
    std::vector<double> r(m), v(x.size());
    for (double& e : r) e = normal(rng);
    for (double& e : v) e = normal(rng);
    double scale = 1.0;
    for (double e : x) scale = std::max(scale, std::abs(e));
    const double h = o.eps * scale;
    std::vector<double> xp = x, xm = x;
    for (size_t j = 0; j < x.size(); ++j) {
      xp[j] += h * v[j];
      xm[j] -= h * v[j];
    }
    const double numeric = (dot(r, p.evaluate(xp)) - dot(r, p.evaluate(xm))) / (2 * h);
    const double analytic = dot(v, p.vjp(r));
    note(numeric, analytic);
    if (!close(numeric, analytic, o))
      fail(fmt::format("{}: random projection {}: numeric {:.12g}, analytic {:.12g}", p.check, k, numeric, analytic));
  }
  return result;
}

/// The inputs' values end to end (float64 only: finite differences in float are too coarse).
std::vector<double> flatten(const char* check, std::span<const Array> inputs) {
  std::vector<double> x;
  for (const Array& a : inputs) {
    if (a.dtype() != DType::f64)
      raise<ValueError>("{}: inputs must be float64 (finite differences in float are too coarse), got {}", check,
                        dtype_name(a.dtype()));
    const auto v = a.to_vector();
    x.insert(x.end(), v.begin(), v.end());
  }
  return x;
}

/// Flat values back into Arrays shaped as `like`.
std::vector<Array> unflatten(const std::vector<double>& xs, std::span<const Array> like) {
  std::vector<Array> arrays;
  size_t offset = 0;
  for (const Array& a : like) {
    arrays.emplace_back(a.shape(), std::span<const double>(xs.data() + offset, static_cast<size_t>(a.numel())));
    offset += static_cast<size_t>(a.numel());
  }
  return arrays;
}

std::vector<double> concatenate(std::span<const Array> arrays) {
  std::vector<double> flat;
  for (const Array& a : arrays) {
    const auto v = a.to_vector();
    flat.insert(flat.end(), v.begin(), v.end());
  }
  return flat;
}

std::string describe_element(std::span<const Array> inputs, size_t j) {
  size_t k = 0;
  while (j >= static_cast<size_t>(inputs[k].numel())) j -= static_cast<size_t>(inputs[k++].numel());
  return fmt::format("input {} {} element {}", k, inputs[k].shape(), j);
}

}  // namespace

GradcheckResult gradcheck(const VarFunction& f, std::span<const double> x0, GradcheckOptions options) {
  const std::vector<double> x(x0.begin(), x0.end());
  Probe p;
  p.evaluate = [&](const std::vector<double>& xs) {
    Tape tape;
    NoGradGuard no_grad;
    std::vector<Var> vars(xs.begin(), xs.end());
    return std::vector<double>{f(vars).value()};
  };
  p.vjp = [&](const std::vector<double>& seed) {
    Tape tape;
    std::vector<Var> vars(x.begin(), x.end());
    const Var y = f(vars);
    std::vector<double> g(x.size(), 0.0);
    if (y.is_constant()) return g;
    y.backward();
    for (size_t j = 0; j < x.size(); ++j) g[j] = seed[0] * vars[j].grad();
    return g;
  };
  p.describe = [](size_t j) { return fmt::format("x[{}]", j); };
  return run(p, x, options);
}

GradcheckResult gradgradcheck(const VarFunction& f, std::span<const double> x0, GradcheckOptions options) {
  const std::vector<double> x(x0.begin(), x0.end());
  Probe p;  // the "function" checked is x -> grad f(x); its Jacobian is H, symmetric, so r^T H = H r
  p.evaluate = [&](const std::vector<double>& xs) {
    Tape tape;
    std::vector<Var> vars(xs.begin(), xs.end());
    const Var y = f(vars);
    if (y.is_constant()) return std::vector<double>(xs.size(), 0.0);
    return gradient(y, vars);
  };
  p.vjp = [&](const std::vector<double>& seed) { return hvp(f, x, seed); };
  p.describe = [](size_t j) { return fmt::format("x[{}]", j); };
  p.check = "gradgradcheck";
  p.output = "gradient";
  return run(p, x, options);
}

GradcheckResult gradcheck(const TensorFunction& f, std::span<const Array> inputs, GradcheckOptions options) {
  const std::vector<double> x = flatten("gradcheck", inputs);
  auto leaves = [&](const std::vector<double>& xs, bool requires_grad) {
    std::vector<Tensor> ts;
    for (Array& a : unflatten(xs, inputs)) ts.emplace_back(std::move(a), requires_grad);
    return ts;
  };
  Probe p;
  p.evaluate = [&](const std::vector<double>& xs) {
    Tape tape;
    NoGradGuard no_grad;
    const auto ts = leaves(xs, false);
    return f(ts).value().to_vector();
  };
  p.vjp = [&](const std::vector<double>& seed) {
    Tape tape;
    const auto ts = leaves(x, true);
    const Tensor y = f(ts);
    if (y.requires_grad()) y.backward(Array(y.shape(), seed));
    std::vector<Array> grads;
    for (const Tensor& t : ts) grads.push_back(t.grad());
    return concatenate(grads);
  };
  p.describe = [&](size_t j) { return describe_element(inputs, j); };
  return run(p, x, options);
}

GradcheckResult gradgradcheck(const TensorFunction& f, std::span<const Array> inputs, GradcheckOptions options) {
  const std::vector<double> x = flatten("gradgradcheck", inputs);
  Probe p;  // x -> grad f(x), whose Jacobian is H (symmetric: r^T H = H r)
  p.evaluate = [&](const std::vector<double>& xs) {
    Tape tape;
    std::vector<Tensor> ts;
    for (Array& a : unflatten(xs, inputs)) ts.emplace_back(std::move(a), true);
    const Tensor y = f(ts);
    if (y.numel() != 1)
      raise<ShapeError>("gradgradcheck: f must return one element (a scalar), got shape {}", y.shape());
    if (y.requires_grad()) y.backward();
    std::vector<Array> grads;
    for (const Tensor& t : ts) grads.push_back(t.grad());
    return concatenate(grads);
  };
  p.vjp = [&](const std::vector<double>& seed) { return concatenate(hvp(f, inputs, unflatten(seed, inputs))); };
  p.describe = [&](size_t j) { return describe_element(inputs, j); };
  p.check = "gradgradcheck";
  p.output = "gradient";
  return run(p, x, options);
}

}  // namespace tapegrad
