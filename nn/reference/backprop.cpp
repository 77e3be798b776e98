#include "nn/reference/backprop.hpp"

#include <algorithm>
#include <cmath>

#include "autodiff/error.hpp"
#include "nn/reference/activation.hpp"
#include "nn/seed/minibatch_sum.hpp"

namespace tapegrad::nn::reference {

Result backprop(const Network& net, const Parameters& p, std::span<const double> x, std::span<const double> targets,
                size_t m, const Options& options) {
  Result r;
  backprop(net, p, x, targets, m, options, r);
  return r;
}

void backprop(const Network& net, const Parameters& p, std::span<const double> x, std::span<const double> targets,
              size_t m, const Options& opt, Result& res) {
  const auto& units = net.units();
  const auto& edges = net.edges();
  const size_t U = units.size(), E = edges.size(), n_in = net.num_inputs(), n_out = net.num_outputs();
  if (opt.reduction == Reduction::none)
    raise<ValueError>("reference: Reduction::none is not supported (the reference returns one loss)");
  if (x.size() != m * n_in) raise<ShapeError>("reference: x has {} values, expected {} x {}", x.size(), m, n_in);
  const size_t expected_targets = opt.loss == LossKind::sse ? m * n_out : m;
  if (targets.size() != expected_targets)
    raise<ShapeError>("reference: {} targets, expected {}", targets.size(), expected_targets);
  for (double v : x)
    if (!std::isfinite(v)) raise<ValueError>("reference: non-finite input {}", v);
  if (!opt.mask.empty() && opt.mask.size() != E && opt.mask.size() != m * E)
    raise<ShapeError>("reference: mask has {} values, expected {} or {} x {}", opt.mask.size(), E, m, E);
  const bool per_example = opt.mask.size() == m * E && m > 1;
  auto r = [&](size_t e, size_t i) { return opt.mask.empty() ? 1.0 : opt.mask[per_example ? i * E + e : e]; };

  res.loss = 0.0;
  res.psi.assign(U * m, 0.0);
  res.out.assign(U * m, 0.0);
  res.lambda.assign(U * m, 0.0);
  res.psihat.assign(U * m, 0.0);
  std::vector<double>& psihat = res.psihat;
  std::vector<double>& xhat = res.xhat;
  std::vector<double>& inv_std = res.inv_std;
  xhat.assign(U * m, 0.0);
  inv_std.assign(U, 0.0);
  auto at = [m](std::vector<double>& v, size_t u, size_t i) -> double& { return v[u * m + i]; };

  // ---- forward ----
  for (size_t j = 0; j < n_in; ++j)
    for (size_t i = 0; i < m; ++i) at(res.out, j, i) = x[i * n_in + j];
  for (size_t k = n_in; k < U; ++k) {
    const auto& u = units[k];
    double* psi = &res.psi[k * m];
    std::fill(psi, psi + m, p.beta[k]);  // eq. 1 / 11: psi_k = sum_l w_kl r_kl o_l + beta_k
    for (uint32_t e = u.in_begin; e < u.in_end; ++e) {
      const double* o = &res.out[edges[e].src * m];
      if (per_example) {
        for (size_t i = 0; i < m; ++i) psi[i] += p.w[e] * r(e, i) * o[i];
      } else {
        const double c = p.w[e] * r(e, 0);
        for (size_t i = 0; i < m; ++i) psi[i] += c * o[i];
      }
    }
    if (u.batch_norm) {  // eq. 17-19: psihat = gamma (psi - muhat) / sqrt(nuhat^2 + eps) + theta
      double mu = 0, nu2 = 0;
      for (size_t i = 0; i < m; ++i) mu += at(res.psi, k, i);
      mu /= double(m);
      for (size_t i = 0; i < m; ++i) nu2 += (at(res.psi, k, i) - mu) * (at(res.psi, k, i) - mu);
      nu2 /= double(m);
      inv_std[k] = 1.0 / std::sqrt(nu2 + net.batch_norm_eps);
      for (size_t i = 0; i < m; ++i) {
        at(xhat, k, i) = (at(res.psi, k, i) - mu) * inv_std[k];
        at(psihat, k, i) = p.gamma[k] * at(xhat, k, i) + p.theta[k];
      }
    } else {
      for (size_t i = 0; i < m; ++i) at(psihat, k, i) = at(res.psi, k, i);
    }
    activate_row(u.activation, &psihat[k * m], &res.out[k * m], m);  // eq. 16
  }

  // ---- loss and dL/dz at the outputs (notes on eq. 5) ----
  const double scale = opt.reduction == Reduction::mean ? 1.0 / double(m) : 1.0;
  std::vector<double>& dz = res.dz;
  dz.assign(m * n_out, 0.0);
  const auto& outs = net.output_units();
  for (size_t i = 0; i < m; ++i) {
    if (opt.loss == LossKind::sse) {
      for (size_t j = 0; j < n_out; ++j) {
        const double diff = at(res.out, outs[j], i) - targets[i * n_out + j];
        res.loss += 0.5 * diff * diff * scale;
        dz[i * n_out + j] = diff * scale;
      }
    } else {  // softmax cross-entropy: dL/dz = softmax(z) - onehot
      double zmax = -INFINITY, sum = 0;
      for (size_t j = 0; j < n_out; ++j) zmax = std::max(zmax, at(res.out, outs[j], i));
      for (size_t j = 0; j < n_out; ++j) sum += std::exp(at(res.out, outs[j], i) - zmax);
      if (!(targets[i] >= 0 && targets[i] < double(n_out) && targets[i] == std::trunc(targets[i])))
        raise<ValueError>("reference: target {} is {}, not a class index in [0, {})", i, targets[i], n_out);
      const auto t = static_cast<size_t>(targets[i]);
      res.loss += (zmax + std::log(sum) - at(res.out, outs[t], i)) * scale;
      for (size_t j = 0; j < n_out; ++j)
        dz[i * n_out + j] = (std::exp(at(res.out, outs[j], i) - zmax) / sum - (j == t ? 1.0 : 0.0)) * scale;
    }
  }

  // ---- backward: units in reverse topological order ----
  // g_k,i = dL/do_k,i = dL/dz (if k is an output) + sum_{l:(k,l)} lambda_l,i w_lk r_lk  (eq. 4, 13)
  std::vector<double>& g = res.g;
  g.assign(U * m, 0.0);
  for (size_t j = 0; j < n_out; ++j)
    for (size_t i = 0; i < m; ++i) at(g, outs[j], i) += dz[i * n_out + j];
  res.grad.w.assign(E, 0.0);
  res.grad.beta.assign(U, 0.0);
  res.grad.gamma.assign(U, 0.0);
  res.grad.theta.assign(U, 0.0);
  for (size_t k = U; k-- > n_in;) {
    const auto& u = units[k];
    if (u.batch_norm) {
      // eq. 20 (with r_lk): gh_i = dL/dpsihat_i = sigma'(psihat_i) g_i
      double sum_gh = 0, sum_gh_xhat = 0;
      std::vector<double>& gh = res.gh;
      gh.resize(m);
      activate_derivative_row(u.activation, &psihat[k * m], &res.out[k * m], gh.data(), m);
      for (size_t i = 0; i < m; ++i) {
        gh[i] *= at(g, k, i);
        sum_gh += gh[i];
        sum_gh_xhat += gh[i] * at(xhat, k, i);
      }
      res.grad.gamma[k] = sum_gh_xhat;  // eq. 22, 24
      res.grad.theta[k] = sum_gh;       // eq. 23, 25
      const double a = p.gamma[k] * inv_std[k];
      for (size_t i = 0; i < m; ++i)
        at(res.lambda, k, i) =
            net.batch_norm_mode == BatchNormMode::seed
                ? a * gh[i]  // eq. 21: statistics held fixed
                : a * (gh[i] - sum_gh / double(m) - at(xhat, k, i) * sum_gh_xhat / double(m));  // I&S
    } else {  // eq. 4, 5: lambda_k = sigma'(psi_k) g_k
      double* lambda = &res.lambda[k * m];
      activate_derivative_row(u.activation, &res.psi[k * m], &res.out[k * m], lambda, m);
      for (size_t i = 0; i < m; ++i) lambda[i] *= at(g, k, i);
    }
    const double* lambda = &res.lambda[k * m];
    res.grad.beta[k] +=
        minibatch_sum(static_cast<int64_t>(m), [&](int64_t i, double& sum) { sum += lambda[i]; });  // eq. 3
    for (uint32_t e = u.in_begin; e < u.in_end; ++e) {
      const uint32_t src = edges[e].src;
      const double* o = &res.out[src * m];
      double* g_src = &g[src * m];
      double dw = 0;
      if (per_example) {
        for (size_t i = 0; i < m; ++i) {
          const double lr = lambda[i] * r(e, i);
          dw += lr * o[i];          // eq. 2, 12: dL/dw_kj = sum_i lambda_k,i o_j,i r_kj
          g_src[i] += lr * p.w[e];  // eq. 4, 13: into the source's dL/do
        }
      } else {  // the same with r_kj taken out of the sums
        const double re = r(e, 0), c = re * p.w[e];
        dw = re * minibatch_sum(static_cast<int64_t>(m), [&](int64_t i, double& sum) {
               sum += lambda[i] * o[i];
               g_src[i] += lambda[i] * c;
             });
      }
      res.grad.w[e] += dw;
    }
  }
}

}  // namespace tapegrad::nn::reference
