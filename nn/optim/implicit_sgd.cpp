#include "nn/optim/implicit_sgd.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

#include "autodiff/autodiff.hpp"

namespace tapegrad::nn::optim {

namespace {
double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}
double inf_norm(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}
}  // namespace

ImplicitSGD::ImplicitSGD(std::vector<Tensor> params, ImplicitSGDOptions options)
    : params_(std::move(params)), options_(options) {
  set_lr(options_.lr);
  if (options_.max_inner < 1)
    raise<ValueError>("ImplicitSGD: max_inner must be at least 1, got {}", options_.max_inner);
  for (const Tensor& p : params_)
    if (!p.defined() || !p.is_leaf() || !p.requires_grad() || p.dtype() != DType::f64)
      raise<ValueError>("ImplicitSGD: every parameter must be a float64 leaf with requires_grad(true)");
}

void ImplicitSGD::set_lr(double lr) {
  if (!(lr > 0.0)) raise<ValueError>("ImplicitSGD: invalid learning rate {}", lr);
  options_.lr = lr;
}

// L(phi) and grad L(phi): loads phi into the parameters, records the loss on an inner tape, sweeps.
double ImplicitSGD::evaluate(const std::vector<double>& phi, std::vector<double>& grad,
                             const std::function<Tensor()>& loss) {
  size_t at = 0;
  for (Tensor& p : params_) {
    Array& v = p.mutable_value();
    for (int64_t i = 0; i < v.numel(); ++i) v.set(i, phi[at++]);
    p.zero_grad();
  }
  Tape tape;
  Tensor l = loss();
  if (l.numel() != 1) raise<ShapeError>("ImplicitSGD: the loss must have one element, got shape {}", l.shape());
  if (l.requires_grad()) l.backward();
  grad.assign(phi.size(), 0.0);
  at = 0;
  for (Tensor& p : params_) {
    const Array& g = p.grad();
    for (int64_t i = 0; i < g.numel(); ++i) grad[at++] = g.at(i);
  }
  return l.item();
}

ImplicitStepReport ImplicitSGD::step(const std::function<Tensor()>& loss) {
  const double eta = options_.lr;
  std::vector<double> theta0;
  for (Tensor& p : params_) {
    const auto v = p.value().to_vector();
    theta0.insert(theta0.end(), v.begin(), v.end());
  }
  const size_t n = theta0.size();
  const double tol_abs = options_.tol_abs * (1.0 + inf_norm(theta0));
  // F(phi) = L(phi) + ||phi - theta0||^2 / (2 eta);  grad F = rho / eta, rho = phi - theta0 + eta g.
  auto objective = [&](const std::vector<double>& phi, std::vector<double>& grad_f, double& residual) {
    std::vector<double> g;
    double f = evaluate(phi, g, loss);
    grad_f.resize(n);
    residual = 0;
    for (size_t i = 0; i < n; ++i) {
      const double d = phi[i] - theta0[i], rho = d + eta * g[i];
      f += d * d / (2 * eta);
      grad_f[i] = rho / eta;
      residual = std::max(residual, std::abs(rho));
    }
    return f;
  };

  // The stopping rule (NOTES c): ||rho||_inf <= tol_abs (1 + ||theta0||_inf) + tol_rel ||phi - theta0||_inf.
  auto stop = [&](const std::vector<double>& at, double res) {
    double moved = 0;
    for (size_t i = 0; i < n; ++i) moved = std::max(moved, std::abs(at[i] - theta0[i]));
    return res <= tol_abs + options_.tol_rel * moved;
  };
  std::vector<double> phi = theta0, grad_f, trial(n), trial_grad;
  double residual = 0;
  double f = objective(phi, grad_f, residual);
  std::deque<std::pair<std::vector<double>, std::vector<double>>> history;  // (s, y) pairs
  ImplicitStepReport report;
  for (int it = 0; it < options_.max_inner; ++it) {
    report.iterations = it;
    report.residual = residual;
    if (stop(phi, residual)) {
      report.converged = true;
      return report;
    }
    // L-BFGS two-loop recursion: d = -H grad F.
    std::vector<double> d = grad_f;
    std::vector<double> alpha(history.size());
    for (size_t k = history.size(); k-- > 0;) {
      const auto& [s, y] = history[k];
      alpha[k] = dot(s, d) / dot(y, s);
      for (size_t i = 0; i < n; ++i) d[i] -= alpha[k] * y[i];
    }
    const double gamma = history.empty() ? eta
                                         : dot(history.back().first, history.back().second) /
                                               dot(history.back().second, history.back().second);
    for (double& v : d) v *= gamma;
    for (size_t k = 0; k < history.size(); ++k) {
      const auto& [s, y] = history[k];
      const double beta = dot(y, d) / dot(y, s);
      for (size_t i = 0; i < n; ++i) d[i] += s[i] * (alpha[k] - beta);
    }
    for (double& v : d) v = -v;
    double slope = dot(grad_f, d);
    if (!(slope < 0)) {  // not a descent direction: restart from the scaled gradient
      history.clear();
      for (size_t i = 0; i < n; ++i) d[i] = -eta * grad_f[i];
      slope = dot(grad_f, d);
    }
    // Armijo backtracking: F(phi + t d) <= F(phi) + 1e-4 t slope.
    double t = 1.0, f_trial = 0, trial_residual = 0;
    bool accepted = false;
    for (int halving = 0; halving <= 30; ++halving, t *= 0.5) {
      for (size_t i = 0; i < n; ++i) trial[i] = phi[i] + t * d[i];
      f_trial = objective(trial, trial_grad, trial_residual);
      // Armijo; or, once F's decrease falls below its rounding error (near the solution), any
      // step that shrinks the residual without raising F beyond that rounding error.
      const bool armijo = f_trial <= f + 1e-4 * t * slope;
      const bool below_rounding = f_trial <= f + 1e-14 * std::abs(f) && trial_residual < residual;
      if (armijo || below_rounding) {
        accepted = true;
        break;
      }
    }
    if (!accepted) break;  // no decrease possible at this precision: report where we are
    std::vector<double> s(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      s[i] = trial[i] - phi[i];
      y[i] = trial_grad[i] - grad_f[i];
    }
    if (dot(s, y) > 1e-300) {
      history.emplace_back(std::move(s), std::move(y));
      if (static_cast<int>(history.size()) > options_.memory) history.pop_front();
    }
    phi = trial;
    grad_f = trial_grad;
    f = f_trial;
    residual = trial_residual;
    report.iterations = it + 1;
    report.residual = residual;
  }
  // Not converged: load the last accepted point (a rejected line-search trial may be loaded now).
  std::vector<double> g;
  evaluate(phi, g, loss);
  report.converged = stop(phi, residual);
  return report;
}

ImplicitStepReport implicit_step(SeedModel& model, const Array& x, std::span<const double> targets, LossKind kind,
                                 bool mean, const ImplicitSGDOptions& options) {
  const Network& net = model.network();
  for (const auto& u : net.units())
    if (u.batch_norm && net.batch_norm_mode == BatchNormMode::seed)
      raise<ValueError>(
          "implicit SGD: neuron {} uses seed-mode batch norm, whose update is not the gradient of any "
          "function, so the proximal step is undefined; use BatchNormMode::full",
          u.id);
  const auto& units = net.units();
  const size_t n_in = net.num_inputs();
  const bool single_linear = units.size() == n_in + 1 && units.back().activation == Activation::identity &&
                             !units.back().batch_norm && kind == LossKind::sse && model.is_training() &&
                             !model.has_mask();
  if (!single_linear) {
    ImplicitSGD solver(model.parameters(), options);
    return solver.step([&] { return model.loss(model.forward(x).z, targets, kind, mean); });
  }
  // Closed form: theta = (w over the neuron's arrows, beta), rows x~_i = (x_i over those sources, 1).
  const auto& u = units.back();
  const size_t fan = u.in_end - u.in_begin, m = static_cast<size_t>(x.shape()[0]), k = n_in;
  std::vector<double> theta, rows;
  for (uint32_t e = u.in_begin; e < u.in_end; ++e) theta.push_back(model.w.value().at(e));
  theta.push_back(model.beta.value().at(static_cast<int64_t>(k)));
  for (size_t i = 0; i < m; ++i) {
    for (uint32_t e = u.in_begin; e < u.in_end; ++e)
      rows.push_back(x.at(static_cast<int64_t>(i * n_in + net.edges()[e].src)));
    rows.push_back(1.0);
  }
  const double eta = mean ? options.lr / double(m) : options.lr;
  const auto next = implicit_least_squares_step(theta, rows, targets, eta);
  ImplicitStepReport report{true, 0, 0.0};
  for (size_t j = 0; j <= fan; ++j) {  // rho = phi - theta + eta X^T (X phi - y)
    double grad = 0;
    for (size_t i = 0; i < m; ++i) {
      double r = -targets[i];
      for (size_t c = 0; c <= fan; ++c) r += rows[i * (fan + 1) + c] * next[c];
      grad += rows[i * (fan + 1) + j] * r;
    }
    report.residual = std::max(report.residual, std::abs(next[j] - theta[j] + eta * grad));
  }
  for (uint32_t e = u.in_begin; e < u.in_end; ++e) model.w.mutable_value().set(e, next[e - u.in_begin]);
  model.beta.mutable_value().set(static_cast<int64_t>(k), next[fan]);
  return report;
}

std::vector<double> implicit_least_squares_step(std::span<const double> theta, std::span<const double> x,
                                                std::span<const double> y, double eta) {
  const size_t n = theta.size(), m = y.size();
  if (x.size() != m * n)
    raise<ShapeError>("implicit_least_squares_step: X has {} values, expected {} x {}", x.size(), m, n);
  // A = I + eta X^T X, b = theta + eta X^T y; solve by Gaussian elimination with partial pivoting.
  std::vector<double> a(n * n, 0.0), b(theta.begin(), theta.end());
  for (size_t r = 0; r < n; ++r) a[r * n + r] = 1.0;
  for (size_t i = 0; i < m; ++i)
    for (size_t r = 0; r < n; ++r) {
      b[r] += eta * x[i * n + r] * y[i];
      for (size_t c = 0; c < n; ++c) a[r * n + c] += eta * x[i * n + r] * x[i * n + c];
    }
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t r = col + 1; r < n; ++r)
      if (std::abs(a[r * n + col]) > std::abs(a[pivot * n + col])) pivot = r;
    for (size_t c = 0; c < n; ++c) std::swap(a[col * n + c], a[pivot * n + c]);
    std::swap(b[col], b[pivot]);
    for (size_t r = col + 1; r < n; ++r) {
      const double f = a[r * n + col] / a[col * n + col];
      for (size_t c = col; c < n; ++c) a[r * n + c] -= f * a[col * n + c];
      b[r] -= f * b[col];
    }
  }
  std::vector<double> out(n);
  for (size_t r = n; r-- > 0;) {
    double s = b[r];
    for (size_t c = r + 1; c < n; ++c) s -= a[r * n + c] * out[c];
    out[r] = s / a[r * n + r];
  }
  return out;
}

std::vector<double> implicit_glm_step(std::span<const double> theta, std::span<const double> x, double eta,
                                      const std::function<double(double)>& dloss,
                                      const std::function<double(double)>& d2loss) {
  if (x.size() != theta.size())
    raise<ShapeError>("implicit_glm_step: x has {} values for {} parameters", x.size(), theta.size());
  double u0 = 0, norm2 = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    u0 += x[i] * theta[i];
    norm2 += x[i] * x[i];
  }
  // Root of h(xi) = xi + eta l'(u0 + xi ||x||^2): increasing (l convex), bracketed by 0 and -eta r0.
  const double r0 = dloss(u0);
  double lo = std::min(0.0, -eta * r0), hi = std::max(0.0, -eta * r0), xi = 0.5 * (lo + hi);
  auto h = [&](double v) { return v + eta * dloss(u0 + v * norm2); };
  for (int it = 0; it < 200 && hi - lo > 1e-15 * std::max(1.0, std::abs(xi)); ++it) {
    const double hv = h(xi);
    if (hv == 0) break;
    (hv > 0 ? hi : lo) = xi;
    const double slope = 1.0 + eta * norm2 * d2loss(u0 + xi * norm2);
    const double newton = xi - hv / slope;
    xi = newton > lo && newton < hi ? newton : 0.5 * (lo + hi);  // safeguard: stay in the bracket
  }
  std::vector<double> out(theta.begin(), theta.end());
  for (size_t i = 0; i < x.size(); ++i) out[i] += xi * x[i];
  return out;
}

}  // namespace tapegrad::nn::optim
