#include "nn/optim/implicit_sgd.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "autodiff/autodiff.hpp"

namespace tapegrad::nn::optim {

namespace {
double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}
/// max(acc, |v|) that keeps a NaN once seen (std::max drops a NaN second argument, which would
/// report a NaN residual as zero).
double max_abs(double acc, double v) {
  v = std::abs(v);
  return std::isnan(acc) || !(v <= acc) ? v : acc;
}
double inf_norm(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = max_abs(m, v);
  return m;
}

void check_rate(const char* who, double eta) {
  if (!(eta > 0.0 && std::isfinite(eta)))
    raise<ValueError>("{}: the learning rate must be positive and finite, got {}", who, eta);
}

/// Solves A v = b for symmetric positive definite A (k x k, row-major) by Cholesky.
std::vector<double> solve_spd(std::vector<double> a, std::vector<double> b) {
  const size_t k = b.size();
  for (size_t j = 0; j < k; ++j) {  // A = L L^T, L stored in the lower triangle
    double d = a[j * k + j];
    for (size_t c = 0; c < j; ++c) d -= a[j * k + c] * a[j * k + c];
    if (!(d > 0.0)) raise<NumericError>("implicit SGD: the system is not positive definite (non-finite data?)");
    a[j * k + j] = std::sqrt(d);
    for (size_t i = j + 1; i < k; ++i) {
      double v = a[i * k + j];
      for (size_t c = 0; c < j; ++c) v -= a[i * k + c] * a[j * k + c];
      a[i * k + j] = v / a[j * k + j];
    }
  }
  for (size_t i = 0; i < k; ++i) {  // L u = b
    for (size_t c = 0; c < i; ++c) b[i] -= a[i * k + c] * b[c];
    b[i] /= a[i * k + i];
  }
  for (size_t i = k; i-- > 0;) {  // L^T v = u
    for (size_t c = i + 1; c < k; ++c) b[i] -= a[c * k + i] * b[c];
    b[i] /= a[i * k + i];
  }
  return b;
}
}  // namespace

bool ImplicitSGDOptions::converged(double residual, double moved, double theta0_norm) const {
  return residual <= tol_abs * (1.0 + theta0_norm) + tol_rel * moved;
}

bool ImplicitSGDOptions::converged_at_rounding(double residual, double moved, double eta_grad_norm,
                                               double rho_rounding) const {
  const double sqrt_eps = std::sqrt(std::numeric_limits<double>::epsilon());
  return residual <= sqrt_eps * (moved + eta_grad_norm) + 16 * rho_rounding;
}

double ImplicitSGDOptions::rho_rounding(double curvature, double phi_norm) const {
  return std::numeric_limits<double>::epsilon() * lr * curvature * phi_norm;
}

void ImplicitSGDOptions::check(const char* who) const {
  check_rate(who, lr);
  if (!(tol_abs >= 0.0) || !(tol_rel >= 0.0))
    raise<ValueError>("{}: tolerances must be non-negative, got tol_abs {} and tol_rel {}", who, tol_abs, tol_rel);
  if (max_inner < 1) raise<ValueError>("{}: max_inner must be at least 1, got {}", who, max_inner);
  if (memory < 1) raise<ValueError>("{}: memory must be at least 1, got {}", who, memory);
}

ImplicitSGD::ImplicitSGD(std::vector<Tensor> params, ImplicitSGDOptions options)
    : params_(std::move(params)), options_(options) {
  options_.check("ImplicitSGD");
  for (const Tensor& p : params_)
    if (!p.defined() || !p.is_leaf() || !p.requires_grad() || p.dtype() != DType::f64)
      raise<ValueError>("ImplicitSGD: every parameter must be a float64 leaf with requires_grad(true)");
}

void ImplicitSGD::set_lr(double lr) {
  check_rate("ImplicitSGD", lr);
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
  const double theta0_norm = inf_norm(theta0);
  // A point's measures: F(phi) = L(phi) + ||phi - theta0||^2 / (2 eta), grad F = rho / eta with the
  // implicit equation's residual rho = phi - theta0 + eta g, and the norms the stopping rules need.
  struct Point {
    std::vector<double> phi, grad_f;
    double f = 0, residual = 0, moved = 0, eta_grad = 0;
  };
  auto measure = [&](Point& p) {
    std::vector<double> g;
    p.f = evaluate(p.phi, g, loss);
    p.grad_f.resize(n);
    p.residual = p.moved = p.eta_grad = 0;
    for (size_t i = 0; i < n; ++i) {
      const double d = p.phi[i] - theta0[i], rho = d + eta * g[i];
      p.f += d * d / (2 * eta);
      p.grad_f[i] = rho / eta;
      p.residual = max_abs(p.residual, rho);
      p.moved = max_abs(p.moved, d);
      p.eta_grad = max_abs(p.eta_grad, eta * g[i]);
    }
  };
  ImplicitStepReport report;
  double curvature = 1.0 / eta;  // of F, the largest secant ||y||_inf / ||s||_inf of the accepted steps
  auto finish = [&](const Point& p, bool stuck) {
    report.residual = p.residual;
    report.converged = options_.converged(p.residual, p.moved, theta0_norm);
    if (!report.converged && stuck &&
        options_.converged_at_rounding(p.residual, p.moved, p.eta_grad,
                                       options_.rho_rounding(curvature, inf_norm(p.phi))))
      report.converged = report.at_rounding_level = true;
    return report;
  };
  Point at{theta0, {}}, trial{std::vector<double>(n), {}};
  measure(at);
  std::deque<std::pair<std::vector<double>, std::vector<double>>> history;  // (s, y) pairs
  const double eps = std::numeric_limits<double>::epsilon();
  bool stuck = false;  // no step can decrease F any more (rather than out of iterations)
  int tiny_steps = 0;  // consecutive accepted steps below rounding of phi
  for (int it = 0; it < options_.max_inner; ++it) {
    report.iterations = it;
    if (options_.converged(at.residual, at.moved, theta0_norm)) return finish(at, false);
    // L-BFGS two-loop recursion: d = -H grad F.
    std::vector<double> d = at.grad_f;
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
    double slope = dot(at.grad_f, d);
    if (!(slope < 0)) {  // not a descent direction: restart from the scaled gradient
      history.clear();
      for (size_t i = 0; i < n; ++i) d[i] = -eta * at.grad_f[i];
      slope = dot(at.grad_f, d);
    }
    // Armijo backtracking: F(phi + t d) <= F(phi) + 1e-4 t slope; or, once F's decrease falls below
    // its rounding error (near the solution), any step that shrinks the residual without raising F
    // beyond that rounding error.
    double t = 1.0;
    bool accepted = false;
    for (int halving = 0; halving <= 30; ++halving, t *= 0.5) {
      for (size_t i = 0; i < n; ++i) trial.phi[i] = at.phi[i] + t * d[i];
      measure(trial);
      const bool armijo = trial.f <= at.f + 1e-4 * t * slope;
      const bool below_rounding = trial.f <= at.f + 1e-14 * std::abs(at.f) && trial.residual < at.residual;
      if (armijo || below_rounding) {
        accepted = true;
        break;
      }
    }
    // No decrease at this precision: stop, converged at rounding level if the residual is down to
    // what rounding in eta g leaves (NOTES-seed c), otherwise not converged.
    if (!accepted) {
      stuck = true;
      break;
    }
    std::vector<double> s(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      s[i] = trial.phi[i] - at.phi[i];
      y[i] = trial.grad_f[i] - at.grad_f[i];
    }
    tiny_steps = inf_norm(s) <= 4 * eps * inf_norm(at.phi) ? tiny_steps + 1 : 0;
    if (inf_norm(s) > 0) curvature = std::max(curvature, inf_norm(y) / inf_norm(s));
    if (dot(s, y) > 1e-300) {
      history.emplace_back(std::move(s), std::move(y));
      if (static_cast<int>(history.size()) > options_.memory) history.pop_front();
    }
    std::swap(at, trial);
    report.iterations = it + 1;
    if (tiny_steps == 5) {  // the steps no longer move phi: as stuck as a failed line search
      stuck = true;
      break;
    }
  }
  // Load the point reported (a rejected line-search trial may be loaded now).
  std::vector<double> g;
  evaluate(at.phi, g, loss);
  return finish(at, stuck);
}

ImplicitStepReport implicit_step(SeedModel& model, const Array& x, std::span<const double> targets, LossKind kind,
                                 Reduction reduction, const ImplicitSGDOptions& options) {
  options.check("implicit_step");
  if (reduction == Reduction::none) raise<ValueError>("implicit_step: the loss must be one number (Reduction::none)");
  const Network& net = model.network();
  const int64_t outputs = static_cast<int64_t>(net.output_ids().size());
  if (x.rank() != 2 || x.shape()[1] != static_cast<int64_t>(net.num_inputs()))
    raise<ShapeError>("implicit_step: x must be [batch, {}] for this network, got {}", net.num_inputs(), x.shape());
  const int64_t want_targets = kind == LossKind::sse ? x.shape()[0] * outputs : x.shape()[0];
  if (static_cast<int64_t>(targets.size()) != want_targets)
    raise<ShapeError>("implicit_step: {} targets for a batch of {} (expected {})", targets.size(), x.shape()[0],
                      want_targets);
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
    return solver.step([&] { return model.loss(model.forward(x).z, targets, kind, reduction); });
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
  const double eta = reduction == Reduction::mean ? options.lr / double(m) : options.lr;
  const auto next = implicit_least_squares_step(theta, rows, targets, eta);
  // The report of the general solver, for the closed-form point: rho = phi - theta + eta X^T (X phi - y).
  // The closed form is exact to rounding, so the rounding floor applies as when the solver is stuck.
  ImplicitStepReport report;
  double moved = 0, eta_grad = 0, curvature = 0;  // curvature: ||X^T X||_inf, the Hessian's
  for (size_t j = 0; j <= fan; ++j) {
    double row = 0;
    for (size_t c = 0; c <= fan; ++c)
      for (size_t i = 0; i < m; ++i) row += std::abs(rows[i * (fan + 1) + j] * rows[i * (fan + 1) + c]);
    curvature = std::max(curvature, row);
    double grad = 0;
    for (size_t i = 0; i < m; ++i) {
      double r = -targets[i];
      for (size_t c = 0; c <= fan; ++c) r += rows[i * (fan + 1) + c] * next[c];
      grad += rows[i * (fan + 1) + j] * r;
    }
    report.residual = max_abs(report.residual, next[j] - theta[j] + eta * grad);
    moved = max_abs(moved, next[j] - theta[j]);
    eta_grad = max_abs(eta_grad, eta * grad);
  }
  report.converged = options.converged(report.residual, moved, inf_norm(theta));
  if (!report.converged && options.converged_at_rounding(report.residual, moved, eta_grad,
                                                         options.rho_rounding(1.0 / eta + curvature, inf_norm(next))))
    report.converged = report.at_rounding_level = true;
  for (uint32_t e = u.in_begin; e < u.in_end; ++e) model.w.mutable_value().set(e, next[e - u.in_begin]);
  model.beta.mutable_value().set(static_cast<int64_t>(k), next[fan]);
  return report;
}

std::vector<double> implicit_least_squares_step(std::span<const double> theta, std::span<const double> x,
                                                std::span<const double> y, double eta) {
  const size_t n = theta.size(), m = y.size();
  check_rate("implicit_least_squares_step", eta);
  if (n == 0 || x.size() != m * n)
    raise<ShapeError>("implicit_least_squares_step: X has {} values, expected {} x {}", x.size(), m, n);
  // Residual form (NOTES-seed c): the step is delta = -eta X^T (I_m + eta X X^T)^-1 r with
  // r = X theta - y, or equally delta = -(I_n + eta X^T X)^-1 eta X^T r; solve the smaller SPD
  // system. Neither adds eta X^T y to theta, whose digits a large eta would wipe out.
  std::vector<double> r(m);
  for (size_t i = 0; i < m; ++i) {
    r[i] = -y[i];
    for (size_t c = 0; c < n; ++c) r[i] += x[i * n + c] * theta[c];
  }
  std::vector<double> out(theta.begin(), theta.end());
  if (m <= n) {
    std::vector<double> gram(m * m, 0.0);  // I + eta X X^T
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < m; ++j) {
        double d = 0;
        for (size_t c = 0; c < n; ++c) d += x[i * n + c] * x[j * n + c];
        gram[i * m + j] = (i == j) + eta * d;
      }
    const auto z = solve_spd(std::move(gram), std::move(r));
    for (size_t i = 0; i < m; ++i)
      for (size_t c = 0; c < n; ++c) out[c] -= eta * x[i * n + c] * z[i];
  } else {
    std::vector<double> gram(n * n, 0.0), rhs(n, 0.0);  // I + eta X^T X, eta X^T r
    for (size_t i = 0; i < m; ++i)
      for (size_t a = 0; a < n; ++a) {
        rhs[a] += eta * x[i * n + a] * r[i];
        for (size_t b = 0; b < n; ++b) gram[a * n + b] += eta * x[i * n + a] * x[i * n + b];
      }
    for (size_t a = 0; a < n; ++a) gram[a * n + a] += 1.0;
    const auto delta = solve_spd(std::move(gram), std::move(rhs));
    for (size_t c = 0; c < n; ++c) out[c] -= delta[c];
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
