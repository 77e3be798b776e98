#pragma once
/// \file
/// LSTM and GRU: multi-layer recurrent networks with PyTorch's parameters, gate layout, names
/// (weight_ih_l0 [gates * hidden, input], weight_hh_l0 [gates * hidden, hidden], bias_ih_l0,
/// bias_hh_l0, then _l1, ...), initialisation (all ~ Uniform(-1/sqrt(hidden), 1/sqrt(hidden)) from
/// the caller's generator) and layout (sequence first unless batch_first), so a PyTorch state dict
/// maps one to one onto named_parameters().
#include <array>
#include <random>
#include <vector>

#include "nn/layers/module.hpp"

namespace tapegrad::nn {

/// Options of LSTM and GRU (PyTorch's arguments).
struct RecurrentOptions {
  int64_t num_layers = 1;    ///< stacked layers, each reading the one below's hidden states
  bool batch_first = false;  ///< input and output [batch, seq, features] instead of [seq, batch, features]
  bool bias = true;          ///< learn bias_ih and bias_hh
};

/// What a recurrent layer returns.
struct RecurrentOutput {
  Tensor output;  ///< the last layer's hidden state at every step: [seq, batch, hidden] (or batch first)
  Tensor h;       ///< every layer's last hidden state: [num_layers, batch, hidden]
  Tensor c;       ///< LSTM: every layer's last cell state, [num_layers, batch, hidden]; GRU: undefined
};

/// One layer's parameters (PyTorch's names with the layer's suffix).
struct RecurrentLayerWeights {
  Tensor weight_ih;  ///< [gates * hidden, input (layer 0) or hidden]
  Tensor weight_hh;  ///< [gates * hidden, hidden]
  Tensor bias_ih;    ///< [gates * hidden], undefined without bias
  Tensor bias_hh;    ///< [gates * hidden], undefined without bias
};

/// What LSTM and GRU share: parameters, layout, state checks, the loop over layers and steps.
class Recurrent : public Module {
 public:
  /// At most this many layers.
  static constexpr int64_t kMaxLayers = 8;
  /// The last layer's output sequence (what nn::Sequential passes on).
  Tensor forward(const Tensor& x) override;

  int64_t input_size;                                      ///< features per step of the input
  int64_t hidden_size;                                     ///< features of the hidden state
  RecurrentOptions options;                                ///< layers, layout, bias
  std::array<RecurrentLayerWeights, kMaxLayers> layers{};  ///< the first options.num_layers are used

 protected:
  /// gates: 4 (LSTM) or 3 (GRU). ValueError for non-positive sizes or layers outside [1, kMaxLayers].
  Recurrent(const char* name, int gates, int64_t input, int64_t hidden, std::mt19937_64& rng,
            const RecurrentOptions& opts);
  /// Runs the layers over x from states h0 and c0 (undefined: zeros; c0 for LSTM only).
  RecurrentOutput run(const Tensor& x, const Tensor& h0, const Tensor& c0);

 private:
  const char* name_;
  bool lstm_;
  std::vector<Tensor> steps_;  ///< a layer's outputs per step (reused)
  Tensor zeros_;               ///< the zero initial state, [batch, hidden] (reused)
};

/// Long short-term memory (PyTorch's LSTM; gates i, f, g, o).
class LSTM : public Recurrent {
 public:
  /// See RecurrentOptions.
  LSTM(int64_t input, int64_t hidden, std::mt19937_64& rng, const RecurrentOptions& opts = {})
      : Recurrent("LSTM", 4, input, hidden, rng, opts) {}
  /// From zero states.
  RecurrentOutput operator()(const Tensor& x) { return run(x, {}, {}); }
  /// From states h0 and c0, [num_layers, batch, hidden] each.
  RecurrentOutput operator()(const Tensor& x, const Tensor& h0, const Tensor& c0) { return run(x, h0, c0); }
};

/// Gated recurrent unit (PyTorch's GRU; gates r, z, n).
class GRU : public Recurrent {
 public:
  /// See RecurrentOptions.
  GRU(int64_t input, int64_t hidden, std::mt19937_64& rng, const RecurrentOptions& opts = {})
      : Recurrent("GRU", 3, input, hidden, rng, opts) {}
  /// From a zero state.
  RecurrentOutput operator()(const Tensor& x) { return run(x, {}, {}); }
  /// From state h0, [num_layers, batch, hidden].
  RecurrentOutput operator()(const Tensor& x, const Tensor& h0) { return run(x, h0, {}); }
};

}  // namespace tapegrad::nn
