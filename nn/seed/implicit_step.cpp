#include "nn/seed/implicit_step.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autodiff/error.hpp"

namespace tapegrad::nn::optim {

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

}  // namespace tapegrad::nn::optim
