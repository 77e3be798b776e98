#include "nn/seed/seed_model.hpp"

#include <cmath>
#include <numeric>
#include <type_traits>

#include "autodiff/autodiff.hpp"
#include "autodiff/op.hpp"
#include "nn/functional/activation.hpp"
#include "nn/functional/batch_norm.hpp"
#include "nn/functional/loss.hpp"
#include "nn/functional/random.hpp"
#include "nn/seed/minibatch_sum.hpp"

namespace tapegrad::nn {

namespace {
Tensor leaf(const std::vector<double>& v) { return Tensor(Array(Shape{static_cast<int64_t>(v.size())}, v), true); }
}  // namespace

SeedModel::SeedModel(Network net) : net_(std::move(net)) {
  if (!net_.finalized()) net_.finalize();
  const Parameters p = net_.parameters();
  w = leaf(p.w);
  beta = leaf(p.beta);
  gamma = leaf(p.gamma);
  theta = leaf(p.theta);
  const int64_t units = static_cast<int64_t>(net_.units().size());
  unit_ids_.resize(static_cast<size_t>(units));
  std::iota(unit_ids_.begin(), unit_ids_.end(), int64_t{0});
  running_mean = Tensor::zeros({units});
  running_var = Tensor::ones({units});
  register_parameter("w", w);
  register_parameter("beta", beta);
  register_parameter("gamma", gamma);
  register_parameter("theta", theta);
  register_buffer("running_mean", running_mean);
  register_buffer("running_var", running_var);
}

Parameters SeedModel::parameter_values() const {
  return {w.value().to_vector(), beta.value().to_vector(), gamma.value().to_vector(), theta.value().to_vector()};
}

void SeedModel::draw(std::mt19937_64& rng, size_t m, MaskMode mode, bool units) {
  const auto& edges = net_.edges();
  const size_t rows = mode == MaskMode::per_example ? m : 1;
  mask_.resize(rows * edges.size());
  if (!units) {
    for (size_t i = 0; i < rows; ++i)  // r ~ Bernoulli(keep) per connection (eq. 11)
      for (size_t e = 0; e < edges.size(); ++e)
        mask_[i * edges.size() + e] = uniform01(rng) < edges[e].keep ? 1.0 : 0.0;
    return;
  }
  const size_t n_units = net_.units().size();
  unit_keep_.assign(n_units, -1.0);
  unit_r_.resize(n_units);
  for (const auto& e : edges)
    if (unit_keep_[e.src] < 0) unit_keep_[e.src] = e.keep;
  for (size_t i = 0; i < rows; ++i) {
    for (size_t l = 0; l < n_units; ++l) unit_r_[l] = unit_keep_[l] >= 0 && uniform01(rng) < unit_keep_[l] ? 1.0 : 0.0;
    for (size_t e = 0; e < edges.size(); ++e) mask_[i * edges.size() + e] = unit_r_[edges[e].src];
  }
}

void SeedModel::draw_mask(std::mt19937_64& rng, size_t m, MaskMode mode) {
  draw_ = {m, mode, false};
  drawn_from_ = &rng;
  drawn_since_pass_ = true;
  draw(rng, m, mode, false);
}

void SeedModel::draw_unit_mask(std::mt19937_64& rng, size_t m, MaskMode mode) {
  draw_ = {m, mode, true};
  drawn_from_ = &rng;
  drawn_since_pass_ = true;
  draw(rng, m, mode, true);
}

void SeedModel::set_mask(std::span<const double> mask) {
  const size_t e = net_.edges().size();
  if (mask.size() % std::max<size_t>(e, 1) != 0)
    raise<ShapeError>("set_mask: {} values is not a whole number of masks of {} edges", mask.size(), e);
  mask_.assign(mask.begin(), mask.end());
  drawn_from_ = nullptr;
  drawn_since_pass_ = true;
}

namespace {
/// A step with no differentiable result, run now and again by Tape::replay: what the model computes
/// in C++ between its ops (drawing a mask, moving running statistics, converting targets).
template <class F>
void record_step(const char* name, F&& step) {
  OpRecord op(name, {});
  op.output(Shape{0}, DType::f64);
  op.forward(std::forward<F>(step));
  (void)op.finish_constant();
}
}  // namespace

const double* SeedModel::record_mask() {
  if (std::mt19937_64* rng = drawn_from_) {  // replay draws the next mask, as a fresh pass's draw_mask would
    bool* at_recording = Tape::active().tensors().stash<bool>(1);
    *at_recording = true;
    record_step("dropconnect_draw", [this, rng, at_recording, how = draw_] {
      if (*at_recording) {  // this pass's mask is the one draw_mask drew
        *at_recording = false;
        return;
      }
      if (drawn_from_ != rng || drawn_since_pass_)
        raise<TapeError>(
            "replay: this recording draws its DropConnect mask itself, but the model's mask was drawn or set "
            "since (call draw_mask before recording, not before replay)");
      draw(*rng, how.m, how.mode, how.units);
    });
  }
  drawn_since_pass_ = false;
  OpRecord op("dropconnect_mask", {});  // r, read from the model's mask again on replay
  const size_t n = mask_.size();
  Array& r = op.output(Shape{static_cast<int64_t>(n)}, DType::f64);
  op.forward([this, &r, n] {
    if (mask_.size() != n)
      raise<ShapeError>("replay: the recording's DropConnect mask had {} values, the model's now has {}", n,
                        mask_.size());
    std::copy(mask_.begin(), mask_.end(), r.data<double>());
  });
  (void)op.finish_constant();
  return r.data<double>();
}

namespace {
struct PsiOnly {};  // neuron_op's activation: none (psi alone)
}  // namespace

// psi_k,i = beta_k + sum_e w_e r_e,i o_src(e),i (eq. 1 / 11), one tape op for the whole minibatch of
// m. r is null (no dropout), one value per edge, or one row per example. With an activation's math
// struct Act the same op also gives o_k = sigma_k(psi_k) (eq. 16) as its output, psi as its second
// output: one node per neuron instead of two, and psi keeps its own gradient (lambda_k).
template <class Act>
SeedModel::Neuron SeedModel::neuron_op(uint32_t k, int64_t m, const double* r, bool per_example) {
  constexpr bool fused = !std::is_same_v<Act, PsiOnly>;
  const auto& unit = net_.units()[k];
  const auto& edges = net_.edges();
  const size_t fan_in = unit.in_end - unit.in_begin;
  const uint32_t begin = unit.in_begin;
  // inputs: the sources' outputs o_src(e), then w and beta
  OpRecord op(fused ? "neuron" : "psi", fan_in + 2, [&](size_t i) -> const Tensor& {
    return i < fan_in ? out_[edges[begin + i].src] : i == fan_in ? w : beta;
  });
  const int64_t r_stride = per_example ? static_cast<int64_t>(edges.size()) : 0;
  // r_e,i = r[i * r_stride + e] (a stride of 0 when one mask serves the minibatch), 1 with no mask
  auto mask = [r, r_stride](int64_t e, int64_t i) { return r ? r[i * r_stride + e] : 1.0; };
  const Array** source_values = op.save_for_backward<const Array*>(fan_in);
  for (size_t j = 0; j < fan_in; ++j) source_values[j] = &op.in(j);
  Array& psi_value = fused ? op.second_output(Shape{m}, DType::f64) : op.output(Shape{m}, DType::f64);
  Array* activated = fused ? &op.output(Shape{m}, DType::f64) : nullptr;
  op.forward([source_values, &w = op.in(fan_in), &b = op.in(fan_in + 1), &psi_value, activated, k, begin, fan_in, m,
              r_stride, mask] {
    double* py = psi_value.data<double>();
    const double* wv = w.data<double>();
    const double bk = b.data<double>()[k];
    if (m < kFewExamples) {  // one pass over the fan-in per example
      for (int64_t i = 0; i < m; ++i) {
        double sum = bk;
        for (size_t j = 0; j < fan_in; ++j) {
          const int64_t e = begin + static_cast<int64_t>(j);
          sum += wv[e] * mask(e, i) * source_values[j]->data<double>()[i];
        }
        py[i] = sum;
      }
    } else {  // one pass over the examples per input, vectorised
      for (int64_t i = 0; i < m; ++i) py[i] = bk;
      for (size_t j = 0; j < fan_in; ++j) {
        const int64_t e = begin + static_cast<int64_t>(j);
        const double* o = source_values[j]->data<double>();
        if (r_stride) {
          for (int64_t i = 0; i < m; ++i) py[i] += wv[e] * mask(e, i) * o[i];
        } else {
          const double wr = wv[e] * mask(e, 0);
          for (int64_t i = 0; i < m; ++i) py[i] += wr * o[i];
        }
      }
    }
    if constexpr (fused) {
      double* o = activated->data<double>();
      for (int64_t i = 0; i < m; ++i) o[i] = Act::value(py[i]);
    } else {
      (void)activated;
    }
  });
  const Tensor out = op.finish(
      [k, begin, fan_in, m, r_stride, mask](BackwardContext& c) {
        const double* g = nullptr;  // lambda_k,i = dL/dpsi_k,i
        if constexpr (fused) {      // what reached psi directly, plus dL/do_k,i sigma'_k(psi_k,i) (eq. 4, 5)
          const auto [lambda_grad, fresh] = c.grad_second_output_to_write();
          double* lambda = lambda_grad.data<double>();
          const double* go = c.grad_output().data<double>();
          const double* psi = c.second_output().data<double>();
          const double* o = c.output().data<double>();
          for (int64_t i = 0; i < m; ++i)  // fresh: nothing reached psi directly, lambda is written
            lambda[i] = (fresh ? 0.0 : lambda[i]) + go[i] * Act::partial(psi[i], o[i]);
          g = lambda;
        } else {
          g = c.grad_output().data<double>();
        }
        const double* wv2 = c.input(fan_in).data<double>();
        if (c.needs_grad(fan_in + 1)) {  // d beta_k = sum_i lambda_k,i  (eq. 3)
          c.grad_input(fan_in + 1).data<double>()[k] += minibatch_sum(m, [g](int64_t i, double& s) { s += g[i]; });
        }
        double* gw = c.needs_grad(fan_in) ? c.grad_input(fan_in).data<double>() : nullptr;
        for (size_t j = 0; j < fan_in; ++j) {
          const int64_t e = begin + static_cast<int64_t>(j);
          const auto [input, grad, fresh] = c.input_and_grad_to_write(j);
          const double* o = input.data<double>();
          double* go = grad ? grad->data<double>() : nullptr;
          if (go && fresh) std::fill_n(go, m, 0.0);  // the source's first reader swept: its buffer is not zeroed
          double sw = 0;
          if (r_stride || m < kFewExamples) {  // per example (few, or each with its own mask)
            for (int64_t i = 0; i < m; ++i) {
              const double gr = g[i] * mask(e, i);
              sw += gr * o[i];               // d w_e = sum_i lambda_i r_e,i o_i  (eq. 2, 12)
              if (go) go[i] += gr * wv2[e];  // d o_i += lambda_i w_e r_e,i       (eq. 4, 13)
            }
          } else {  // the same sums with r_e,i = r_e (or 1) taken out of them, vectorised
            const double re = mask(e, 0);
            sw = re * minibatch_sum(m, [g, o](int64_t i, double& s) { s += g[i] * o[i]; });
            if (go) {
              const double wr = wv2[e] * re;
              for (int64_t i = 0; i < m; ++i) go[i] += g[i] * wr;
            }
          }
          if (gw) gw[e] += sw;
        }
      },
      [&](TangentContext& c) {  // the tangents of psi (eq. 1 / 11) and o = sigma(psi) as tensor ops
        Tensor psi;
        const Tensor out_tangent = c.tangent_of([&] {
          std::vector<Tensor> sources;
          std::vector<int64_t> edge_ids;
          Array r_values(Shape{static_cast<int64_t>(fan_in), per_example ? m : 1});
          for (size_t j = 0; j < fan_in; ++j) {
            sources.push_back(c.input(j));
            edge_ids.push_back(begin + static_cast<int64_t>(j));
            for (int64_t i = 0; i < r_values.shape()[1]; ++i)
              r_values.set(static_cast<int64_t>(j) * r_values.shape()[1] + i, mask(edge_ids.back(), i));
          }
          const int64_t units[] = {static_cast<int64_t>(k)};
          const int fan_in_axis[] = {0};
          const Tensor weights = reshape(index_select(c.input(fan_in), 0, edge_ids), {static_cast<int64_t>(fan_in), 1});
          const Tensor bias = index_select(c.input(fan_in + 1), 0, units);
          psi = fan_in == 0 ? bias + Tensor::zeros({m})
                            : sum(weights * Tensor(std::move(r_values)) * stack(sources, 0), fan_in_axis) + bias;
          return fused ? activate(psi, unit.activation) : psi;
        });
        if constexpr (fused) c.set_second_output_tangent(Tape::active().tangent(psi));
        return out_tangent;
      });
  if constexpr (fused) return {out, op.second()};
  return {out, out};
}

namespace {
/// o_j,i = x_i,j for the m examples: input neuron j's outputs, x checked on every replay as it was at
/// recording (its shape, and finite values).
void read_input(const Array& x, int64_t m, size_t n_in, size_t j, double* o) {
  if (x.rank() != 2 || x.shape()[0] != m || x.shape()[1] != static_cast<int64_t>(n_in))
    raise<ShapeError>("SeedModel: the input is now {}, the recording's was [{}, {}]", x.shape(), m, n_in);
  for (int64_t i = 0; i < m; ++i) {
    o[i] = x.at(i * static_cast<int64_t>(n_in) + static_cast<int64_t>(j));
    if (!std::isfinite(o[i]))
      raise<ValueError>("SeedModel::forward: non-finite input {} at example {}, input {}", o[i], i, j);
  }
}
}  // namespace

const SeedModel::Output& SeedModel::forward(const Array& x) {
  const size_t n_in = net_.num_inputs();
  if (x.rank() != 2 || x.shape()[1] != static_cast<int64_t>(n_in))
    raise<ShapeError>("SeedModel::forward: x must be [m, {}], got {}", n_in, x.shape());
  for (const Tensor& p : {w, beta, gamma, theta, running_mean, running_var})
    if (p.dtype() != DType::f64)
      raise<ValueError>("SeedModel::forward: seed networks compute in float64; the model was converted to {}",
                        dtype_name(p.dtype()));
  const int64_t m = x.shape()[0];
  const auto& units = net_.units();
  const auto& edges = net_.edges();
  // r for this pass: the drawn mask in training, the keep probabilities in eval (eq. 14).
  const double* r = nullptr;
  bool per_example = false;
  auto& section = Tape::active().tensors();
  if (!is_training()) {
    keep_.resize(edges.size());
    for (size_t e = 0; e < edges.size(); ++e) keep_[e] = edges[e].keep;
    r = section.stash(std::span<const double>(keep_));
  } else if (!mask_.empty()) {
    per_example = mask_.size() > edges.size();
    if (mask_.size() != edges.size() && mask_.size() != static_cast<size_t>(m) * edges.size())
      raise<ShapeError>("SeedModel::forward: the mask has {} values, expected {} or {} x {}", mask_.size(),
                        edges.size(), m, edges.size());
    r = record_mask();
  }
  Output& result = output_;
  // Every pass overwrites the same entries; inputs' psi and non-batch-norm units' psihat stay undefined.
  if (out_.size() != units.size()) {
    result.psi.assign(units.size(), Tensor());
    result.psihat.assign(units.size(), Tensor());
    out_.assign(units.size(), Tensor());
  }
  for (size_t j = 0; j < n_in; ++j) {  // input neuron j's outputs o_j,i = x_i,j: constants on the tape
    OpRecord input("input", {});
    Array& o = input.output(Shape{m}, DType::f64);
    input.forward([&x, &o, j, m, n_in] { read_input(x, m, n_in, j, o.data<double>()); });
    out_[j] = input.finish_constant();
  }
  for (size_t k = n_in; k < units.size(); ++k) {
    const auto& u = units[k];
    const auto unit = static_cast<uint32_t>(k);
    if (!u.batch_norm && with_activation_math(u.activation, [&](auto act) {  // psi and sigma in one op
          Neuron n = neuron_op<decltype(act)>(unit, m, r, per_example);
          out_[k] = std::move(n.out);
          result.psi[k] = std::move(n.psi);
        }))
      continue;
    const Tensor psi = neuron_op<PsiOnly>(unit, m, r, per_example).psi;
    result.psi[k] = psi;
    Tensor pre = psi;
    if (u.batch_norm) {  // eq. 17-25 through the library's batch_norm, this unit as one feature
      const auto at = static_cast<int64_t>(k);
      const std::span<const int64_t> idx(&unit_ids_[k], 1);  // a static buffer: index_select reads it on replay
      record_step("running_stats_in", [this, at] {           // the unit's running statistics, in and out
        unit_mean_.set(0, running_mean.value().at(at));
        unit_var_.set(0, running_var.value().at(at));
      });
      pre =
          batch_norm(reshape(psi, {m, 1}), index_select(gamma, 0, idx), index_select(theta, 0, idx), &unit_mean_,
                     &unit_var_, is_training(), {net_.batch_norm_mode, net_.batch_norm_eps, net_.batch_norm_momentum});
      result.psihat[k] = pre;
      record_step("running_stats_out", [this, at] {
        running_mean.mutable_value().set(at, unit_mean_.at(0));
        running_var.mutable_value().set(at, unit_var_.at(0));
      });
      pre = reshape(pre, {m});
    }
    out_[k] = activate(pre, u.activation);  // eq. 16
  }
  zs_.clear();  // z = the outputs as columns [m, outputs]
  for (uint32_t o : net_.output_units()) zs_.push_back(reshape(out_[o], {m, 1}));
  result.z = concat(zs_, 1);
  return result;
}

Tensor SeedModel::loss(const Tensor& z, std::span<const double> targets, LossKind kind, Reduction reduction) {
  const int64_t m = z.shape()[0], classes = kind == LossKind::sse ? 0 : z.shape()[1];
  if (kind == LossKind::sse) {
    if (static_cast<int64_t>(targets.size()) != z.numel())
      raise<ShapeError>("loss: {} targets for outputs {}", targets.size(), z.shape());
    OpRecord op("targets", {});  // a constant on the tape, read from the caller's buffer again on replay
    Array& t = op.output(z.shape(), DType::f64);
    op.forward([targets, &t] { std::copy(targets.begin(), targets.end(), t.data<double>()); });
    return sse_loss(z, op.finish_constant(), reduction);
  }
  if (static_cast<int64_t>(targets.size()) != m)
    raise<ShapeError>("loss: {} class labels for {} examples", targets.size(), m);
  labels_.resize(targets.size());
  record_step("class_labels", [this, targets, classes] {  // class indices given as doubles must be exact integers
    for (size_t i = 0; i < targets.size(); ++i) {
      const double c = targets[i];
      if (!(c >= 0 && c < static_cast<double>(classes) && c == std::trunc(c)))
        raise<ValueError>("loss: target {} is {}, not a class index in [0, {})", i, c, classes);
      labels_[i] = static_cast<int64_t>(c);
    }
  });
  return cross_entropy(z, labels_, reduction);
}

}  // namespace tapegrad::nn
