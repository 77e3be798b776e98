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

double max_abs(double acc, double v) {
  v = std::abs(v);
  return std::isnan(acc) || !(v <= acc) ? v : acc;
}

double inf_norm(std::span<const double> a) {
  double m = 0;
  for (double v : a) m = max_abs(m, v);
  return m;
}

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
  if (max_cg < 1) raise<ValueError>("{}: max_cg must be at least 1, got {}", who, max_cg);
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
std::vector<double> ImplicitSGD::proximal_hvp(const std::vector<double>& phi, const std::vector<double>& v,
                                              const std::function<Tensor()>& loss) {
  ++hvps_;
  std::vector<Array> direction;
  size_t at = 0;
  for (Tensor& p : params_) {
    Array& value = p.mutable_value();
    Array d(value.shape());
    for (int64_t i = 0; i < value.numel(); ++i, ++at) {
      value.set(i, phi[at]);
      d.set(i, v[at]);
    }
    direction.push_back(std::move(d));
  }
  std::vector<double> hv;
  for (const Array& part : hvp(params_, loss, direction)) {
    const auto values = part.to_vector();
    hv.insert(hv.end(), values.begin(), values.end());
  }
  for (size_t i = 0; i < hv.size(); ++i) hv[i] += v[i] / options_.lr;  // + I / eta: F's Hessian
  return hv;
}

double ImplicitSGD::evaluate(const std::vector<double>& phi, std::vector<double>& grad,
                             const std::function<Tensor()>& loss) {
  ++gradients_;
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

namespace {
/// A point of the proximal objective F(phi) = L(phi) + ||phi - theta0||^2 / (2 eta), with
/// grad F = rho / eta for the implicit equation's residual rho = phi - theta0 + eta grad L(phi),
/// and the norms the stopping rules read.
struct Point {
  std::vector<double> phi, grad_f;
  double f = 0, residual = 0, moved = 0, eta_grad = 0;
};

/// L-BFGS's memory of accepted steps: (s, y) = (phi change, grad F change) pairs.
class LbfgsHistory {
 public:
  explicit LbfgsHistory(int memory) : memory_(static_cast<size_t>(memory)) {}
  void clear() { pairs_.clear(); }
  void add(std::vector<double> s, std::vector<double> y) {
    if (!(dot(s, y) > 1e-300)) return;  // curvature condition: keeps H positive definite
    pairs_.emplace_back(std::move(s), std::move(y));
    if (pairs_.size() > memory_) pairs_.pop_front();
  }
  /// -H grad by the two-loop recursion, H the inverse-Hessian estimate (eta I with no history).
  std::vector<double> direction(const std::vector<double>& grad, double eta) const {
    std::vector<double> d = grad;
    std::vector<double> alpha(pairs_.size());
    for (size_t k = pairs_.size(); k-- > 0;) {
      const auto& [s, y] = pairs_[k];
      alpha[k] = dot(s, d) / dot(y, s);
      for (size_t i = 0; i < d.size(); ++i) d[i] -= alpha[k] * y[i];
    }
    const double gamma = pairs_.empty() ? eta
                                        : dot(pairs_.back().first, pairs_.back().second) /
                                              dot(pairs_.back().second, pairs_.back().second);
    for (double& v : d) v *= gamma;
    for (size_t k = 0; k < pairs_.size(); ++k) {
      const auto& [s, y] = pairs_[k];
      const double beta = dot(y, d) / dot(y, s);
      for (size_t i = 0; i < d.size(); ++i) d[i] += s[i] * (alpha[k] - beta);
    }
    for (double& v : d) v = -v;
    return d;
  }

 private:
  size_t memory_;
  std::deque<std::pair<std::vector<double>, std::vector<double>>> pairs_;
};

/// The proximal objective around theta0, evaluated through `loss_and_grad` (L and grad L at phi).
class ProximalObjective {
 public:
  using LossAndGrad = std::function<double(const std::vector<double>& phi, std::vector<double>& grad)>;
  ProximalObjective(const std::vector<double>& theta0, double eta, LossAndGrad loss_and_grad)
      : theta0_(theta0), eta_(eta), loss_and_grad_(std::move(loss_and_grad)) {}

  /// Fills p's F, grad F and norms from p.phi (one forward and backward).
  void measure(Point& p) {
    p.f = loss_and_grad_(p.phi, g_);
    p.grad_f.resize(theta0_.size());
    p.residual = p.moved = p.eta_grad = 0;
    for (size_t i = 0; i < theta0_.size(); ++i) {
      const double d = p.phi[i] - theta0_[i], rho = d + eta_ * g_[i];
      p.f += d * d / (2 * eta_);
      p.grad_f[i] = rho / eta_;
      p.residual = max_abs(p.residual, rho);
      p.moved = max_abs(p.moved, d);
      p.eta_grad = max_abs(p.eta_grad, eta_ * g_[i]);
    }
  }

  /// Armijo backtracking along d: F(phi + t d) <= F(phi) + 1e-4 t slope; or, once F's decrease
  /// falls below its rounding error (near the solution), any step that shrinks the residual without
  /// raising F beyond that rounding error. False when no step is accepted.
  bool line_search(const Point& at, const std::vector<double>& d, double slope, Point& trial) {
    double t = 1.0;
    for (int halving = 0; halving <= 30; ++halving, t *= 0.5) {
      for (size_t i = 0; i < d.size(); ++i) trial.phi[i] = at.phi[i] + t * d[i];
      measure(trial);
      const bool armijo = trial.f <= at.f + 1e-4 * t * slope;
      const bool below_rounding = trial.f <= at.f + 1e-14 * std::abs(at.f) && trial.residual < at.residual;
      if (armijo || below_rounding) return true;
    }
    return false;
  }

 private:
  const std::vector<double>& theta0_;
  double eta_;
  LossAndGrad loss_and_grad_;
  std::vector<double> g_;
};
}  // namespace

ImplicitStepReport ImplicitSGD::step(const std::function<Tensor()>& loss) {
  const double eta = options_.lr;
  std::vector<double> theta0;
  for (Tensor& p : params_) {
    const auto v = p.value().to_vector();
    theta0.insert(theta0.end(), v.begin(), v.end());
  }
  const size_t n = theta0.size();
  const double theta0_norm = inf_norm(theta0);
  ImplicitStepReport report;
  double curvature = 1.0 / eta;  // of F, the largest secant ||y||_inf / ||s||_inf of the accepted steps
  // The report for point p; `stuck`: no step decreases F any more (rather than out of iterations),
  // so the rounding floor (NOTES-seed c) applies.
  gradients_ = hvps_ = 0;
  auto finish = [&](const Point& p, bool stuck) {
    report.gradients = gradients_;
    report.hessian_vector_products = hvps_;
    report.residual = p.residual;
    report.converged = options_.converged(p.residual, p.moved, theta0_norm);
    if (!report.converged && stuck &&
        options_.converged_at_rounding(p.residual, p.moved, p.eta_grad,
                                       options_.rho_rounding(curvature, inf_norm(p.phi))))
      report.converged = report.at_rounding_level = true;
    return report;
  };
  ProximalObjective objective(theta0, eta, [&](const std::vector<double>& phi, std::vector<double>& grad) {
    return evaluate(phi, grad, loss);
  });
  Point at{theta0, {}}, trial{std::vector<double>(n), {}};
  objective.measure(at);
  LbfgsHistory history(options_.memory);
  // Newton-CG's direction: (grad^2 F) d = -grad F by conjugate gradients to the forcing term
  // min(0.5, sqrt ||grad F||) ||grad F|| (a superlinear inexact Newton); on negative curvature,
  // the last iterate (or -grad F at the first) as in Steihaug's method.
  const auto newton_direction = [&](const Point& p) {
    std::vector<double> d(n, 0.0), r(n), conjugate(n);
    for (size_t i = 0; i < n; ++i) conjugate[i] = r[i] = -p.grad_f[i];
    double rr = dot(r, r);
    const double tolerance = std::min(0.5, std::sqrt(std::sqrt(rr))) * std::sqrt(rr);
    for (int k = 0; k < options_.max_cg && std::sqrt(rr) > tolerance; ++k) {
      const std::vector<double> hc = proximal_hvp(p.phi, conjugate, loss);
      const double curvature_along = dot(conjugate, hc);
      if (!(curvature_along > 0)) {
        if (k == 0) d = conjugate;
        break;
      }
      const double alpha = rr / curvature_along;
      for (size_t i = 0; i < n; ++i) {
        d[i] += alpha * conjugate[i];
        r[i] -= alpha * hc[i];
      }
      const double rr_next = dot(r, r);
      for (size_t i = 0; i < n; ++i) conjugate[i] = r[i] + rr_next / rr * conjugate[i];
      rr = rr_next;
    }
    return d;
  };
  const double eps = std::numeric_limits<double>::epsilon();
  bool stuck = false;
  int tiny_steps = 0;  // consecutive accepted steps below rounding of phi
  for (int it = 0; it < options_.max_inner; ++it) {
    report.iterations = it;
    if (options_.converged(at.residual, at.moved, theta0_norm)) return finish(at, false);
    std::vector<double> d =
        options_.solver == ImplicitSolver::newton_cg ? newton_direction(at) : history.direction(at.grad_f, eta);
    double slope = dot(at.grad_f, d);
    if (!(slope < 0)) {  // not a descent direction: restart from the scaled gradient
      history.clear();
      d = history.direction(at.grad_f, eta);
      slope = dot(at.grad_f, d);
    }
    if (!objective.line_search(at, d, slope, trial)) {  // no decrease at this precision
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
    history.add(std::move(s), std::move(y));
    std::swap(at, trial);
    report.iterations = it + 1;
    if (tiny_steps == 5) {  // the steps no longer move phi: as stuck as a failed line search
      stuck = true;
      break;
    }
  }
  std::vector<double> g;  // load the point reported (a rejected line-search trial may be loaded now)
  evaluate(at.phi, g, loss);
  return finish(at, stuck);
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
