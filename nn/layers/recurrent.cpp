#include "nn/layers/recurrent.hpp"

#include <fmt/format.h>

#include <cmath>

#include "autodiff/error.hpp"
#include "autodiff/ops/shape_ops.hpp"
#include "nn/functional/linear.hpp"
#include "nn/functional/recurrent.hpp"

namespace tapegrad::nn {

Recurrent::Recurrent(const char* name, int gates, int64_t input, int64_t hidden, std::mt19937_64& rng,
                     const RecurrentOptions& opts)
    : input_size(input), hidden_size(hidden), options(opts), name_(name), lstm_(gates == 4) {
  if (input < 1 || hidden < 1)
    raise<ValueError>("{}: sizes must be positive, got input {} and hidden {}", name, input, hidden);
  if (opts.num_layers < 1 || opts.num_layers > kMaxLayers)
    raise<ValueError>("{}: num_layers must be in [1, {}], got {}", name, kMaxLayers, opts.num_layers);
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden));
  for (int64_t l = 0; l < opts.num_layers; ++l) {  // PyTorch's order: weight_ih, weight_hh, bias_ih, bias_hh
    RecurrentLayerWeights& w = layers[static_cast<size_t>(l)];
    w.weight_ih = Tensor::uniform({gates * hidden, l == 0 ? input : hidden}, rng, -bound, bound);
    w.weight_hh = Tensor::uniform({gates * hidden, hidden}, rng, -bound, bound);
    register_parameter(fmt::format("weight_ih_l{}", l), w.weight_ih);
    register_parameter(fmt::format("weight_hh_l{}", l), w.weight_hh);
    if (opts.bias) {
      w.bias_ih = Tensor::uniform({gates * hidden}, rng, -bound, bound);
      w.bias_hh = Tensor::uniform({gates * hidden}, rng, -bound, bound);
      register_parameter(fmt::format("bias_ih_l{}", l), w.bias_ih);
      register_parameter(fmt::format("bias_hh_l{}", l), w.bias_hh);
    }
  }
}

Tensor Recurrent::forward(const Tensor& x) { return run(x, {}, {}).output; }

RecurrentOutput Recurrent::run(const Tensor& x, const Tensor& h0, const Tensor& c0) {
  const char* layout = options.batch_first ? "[batch, seq, {}]" : "[seq, batch, {}]";
  if (x.rank() != 3)
    raise<ShapeError>("{}: input must be {}, got {}", name_, fmt::format(fmt::runtime(layout), input_size), x.shape());
  const Tensor seq = options.batch_first ? permute(x, {1, 0, 2}) : x;  // [seq, batch, features]
  const int64_t steps = seq.shape()[0], batch = seq.shape()[1], hidden = hidden_size, layers_n = options.num_layers;
  if (steps == 0) raise<ShapeError>("{}: a sequence of length 0 (input {})", name_, x.shape());
  if (seq.shape()[2] != input_size)
    raise<ShapeError>("{}: input {} has {} features per step, weight_ih_l0 {} expects {}", name_, x.shape(),
                      seq.shape()[2], layers[0].weight_ih.shape(), input_size);
  const Shape state{layers_n, batch, hidden};
  const auto check_state = [&](const Tensor& s, const char* what) {
    if (s.defined() && !(s.shape() == state))
      raise<ShapeError>("{}: {} must be {} for input {}, got {}", name_, what, state, x.shape(), s.shape());
  };
  check_state(h0, "h0");
  check_state(c0, "c0");
  std::array<Tensor, kMaxLayers> h_last, c_last;
  Tensor layer_in = seq;
  for (int64_t l = 0; l < layers_n; ++l) {
    const RecurrentLayerWeights& w = layers[static_cast<size_t>(l)];
    const int64_t gates = w.weight_hh.shape()[0], in = layer_in.shape()[2];
    // The input's projection for every step at once: one product per layer.
    const Tensor proj =
        reshape(linear(reshape(layer_in, {steps * batch, in}), w.weight_ih, w.bias_ih), {steps, batch, gates});
    const Shape zeros_shape{batch, hidden};
    if (!zeros_.defined() || !(zeros_.shape() == zeros_shape) || zeros_.dtype() != w.weight_hh.dtype())
      zeros_ = Tensor::zeros(zeros_shape, w.weight_hh.dtype());  // kept: a warm step allocates nothing
    const auto initial = [&](const Tensor& s) {
      return s.defined() ? reshape(slice(s, 0, l, l + 1), {batch, hidden}) : zeros_;
    };
    Tensor h = initial(h0), c = lstm_ ? initial(c0) : Tensor();
    steps_.clear();
    for (int64_t t = 0; t < steps; ++t) {
      const Tensor x_proj = reshape(slice(proj, 0, t, t + 1), {batch, gates});
      if (lstm_) {
        LstmState next = lstm_cell(x_proj, h, c, w.weight_hh, w.bias_hh);
        h = std::move(next.h);
        c = std::move(next.c);
      } else {
        h = gru_cell(x_proj, h, w.weight_hh, w.bias_hh);
      }
      steps_.push_back(h);
    }
    layer_in = stack(steps_, 0);  // [seq, batch, hidden]
    h_last[static_cast<size_t>(l)] = h;
    c_last[static_cast<size_t>(l)] = c;
  }
  const auto layer_states = [&](const std::array<Tensor, kMaxLayers>& s) {
    return stack(std::span<const Tensor>(s.data(), static_cast<size_t>(layers_n)), 0);
  };
  return {options.batch_first ? permute(layer_in, {1, 0, 2}) : layer_in, layer_states(h_last),
          lstm_ ? layer_states(c_last) : Tensor()};
}

}  // namespace tapegrad::nn
