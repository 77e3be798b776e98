#pragma once
/// \file
/// Implicit SGD (seed section 5.1, empty in the note; algorithm from shared/NOTES-seed.md c):
///   Theta_n = Theta_(n-1) - eta grad L_B(Theta_n)            (the gradient at the NEW point)
///           = argmin_Phi L_B(Phi) + ||Phi - Theta_(n-1)||^2 / (2 eta)   (a proximal step)
/// solved on the tape by L-BFGS with Armijo backtracking on that objective F. Each inner iteration
/// is one tape forward + backward at Phi. The step stops when the implicit equation's residual
/// rho = Phi - Theta_(n-1) + eta grad L(Phi) is small, and reports whether it got there: it never
/// silently falls back to an explicit step. The seed networks' entry point (with its closed forms)
/// is nn/seed/implicit_step.hpp.
#include <functional>
#include <span>
#include <vector>

#include "autodiff/tensor.hpp"

namespace tapegrad::nn::optim {

/// The inner solver of the proximal problem.
enum class ImplicitSolver {
  /// L-BFGS with Armijo backtracking: one gradient per iteration and line-search trial.
  lbfgs,
  /// Newton-CG: each iteration solves (grad^2 L + I / eta) d = -grad F by conjugate gradients on
  /// exact Hessian-vector products (autodiff/higher_order.hpp), then backtracks along d. Negative
  /// curvature ends CG with the last direction of descent (Steihaug).
  newton_cg,
};

/// Implicit SGD's step size and the inner solver's stopping rule (NOTES-seed c).
struct ImplicitSGDOptions {
  double lr = 0.1;                                ///< eta
  double tol_abs = 1e-12;                         ///< scaled by (1 + ||Theta_(n-1)||_inf)
  double tol_rel = 1e-9;                          ///< times ||Phi - Theta_(n-1)||_inf
  int max_inner = 100;                            ///< tape evaluations' outer loop
  int memory = 10;                                ///< L-BFGS history
  ImplicitSolver solver = ImplicitSolver::lbfgs;  ///< the inner solver
  int max_cg = 50;                                ///< Newton-CG: conjugate-gradient iterations per Newton step

  /// ValueError naming `who` and the option: lr positive and finite, tolerances >= 0, counts >= 1.
  void check(const char* who) const;
  /// The stopping rule (NOTES-seed c): ||rho||_inf <= tol_abs (1 + ||Theta0||_inf) + tol_rel ||Phi - Theta0||_inf.
  bool converged(double residual, double moved, double theta0_norm) const;
  /// The rounding floor (NOTES-seed c), applied once no step can decrease F any more:
  /// ||rho||_inf <= sqrt(eps) (||Phi - Theta0||_inf + eta ||g||_inf) + 16 rho_rounding.
  /// The second term is ours: g = grad L is computed from terms of the size of H Phi (H the
  /// Hessian), so eta g carries a rounding error near eps eta ||H|| ||Phi||, which the note's
  /// bound misses when g is small by cancellation (a consistent least-squares stream at eta = 1e6
  /// has ||rho|| = 1.7e-11 at the correctly rounded answer, above the note's 1.3e-12).
  bool converged_at_rounding(double residual, double moved, double eta_grad_norm, double rho_rounding) const;
  /// eps eta curvature ||Phi||_inf, with curvature an estimate of ||grad^2 F||_inf.
  double rho_rounding(double curvature, double phi_norm) const;
};

/// How an implicit step ended.
struct ImplicitStepReport {
  bool converged = false;           ///< the stopping rule was met (else max_inner ran out)
  bool at_rounding_level = false;   ///< converged by the rounding floor, not the tolerance
  int iterations = 0;               ///< inner iterations (each one forward + backward, plus line-search trials)
  int gradients = 0;                ///< loss gradients evaluated (forward + backward each)
  int hessian_vector_products = 0;  ///< Newton-CG's (about two gradients' work each; 0 for L-BFGS)
  double residual = 0.0;            ///< ||rho||_inf at the returned point
};

/// max(acc, |v|), keeping a NaN once seen (std::max drops a NaN second argument, which would report
/// a NaN residual as zero); inf_norm folds it over a vector.
double max_abs(double acc, double v);
/// max |v_i| (NaN if any v_i is NaN).
double inf_norm(std::span<const double> v);

/// Implicit (proximal) SGD, seed section 5.1: the step solves Phi = Theta - eta grad L(Phi) by
/// minimising F(Phi) = L(Phi) + ||Phi - Theta||^2 / (2 eta) with L-BFGS.
class ImplicitSGD {
 public:
  /// The parameters to update (ValueError for a bad option).
  ImplicitSGD(std::vector<Tensor> params, ImplicitSGDOptions options);
  /// One implicit step. `loss` records the minibatch loss at the parameters' current values on
  /// the active tape (the step runs it on an inner tape of its own; keep random masks fixed).
  /// The parameters hold the returned point afterwards, converged or not (see the report).
  ImplicitStepReport step(const std::function<Tensor()>& loss);
  /// The step size eta.
  double lr() const { return options_.lr; }
  /// Sets eta (ValueError unless positive and finite).
  void set_lr(double lr);

 private:
  double evaluate(const std::vector<double>& phi, std::vector<double>& grad, const std::function<Tensor()>& loss);
  /// (grad^2 L(phi) + I / eta) v, one Hessian-vector product.
  std::vector<double> proximal_hvp(const std::vector<double>& phi, const std::vector<double>& v,
                                   const std::function<Tensor()>& loss);
  int gradients_ = 0;
  int hvps_ = 0;
  std::vector<Tensor> params_;
  ImplicitSGDOptions options_;
};

// ---- closed forms (fast paths and test oracles) ----

/// Minibatch least squares, L = 0.5 sum_i (x~_i . theta - y_i)^2 with rows x~_i of X (already
/// extended by a 1 when the bias is trained): solves (I + eta X^T X) theta_n = theta + eta X^T y.
/// For one example this is theta - eta / (1 + eta ||x~||^2) (x~ . theta - y) x~. Computed in
/// residual form, accurate to rounding for any eta (checked to 1e9).
std::vector<double> implicit_least_squares_step(std::span<const double> theta, std::span<const double> x,
                                                std::span<const double> y, double eta);

/// A GLM neuron with loss l(u; y), u = x~ . theta: theta_n = theta + xi x~ with the 1-D root
/// xi = -eta l'(x~ . theta + xi ||x~||^2; y), found by safeguarded Newton in the bracket
/// [min(0, -eta r0), max(0, -eta r0)], r0 = l'(x~ . theta). dloss(u) = l'(u), d2loss(u) = l''(u) >= 0.
std::vector<double> implicit_glm_step(std::span<const double> theta, std::span<const double> x, double eta,
                                      const std::function<double(double)>& dloss,
                                      const std::function<double(double)>& d2loss);

}  // namespace tapegrad::nn::optim
