#pragma once
/// \file
/// One time step of PyTorch's LSTM and GRU cells, as tape ops. The input's projection
/// x W_ih^T + b_ih is computed beforehand for the whole sequence at once (one product per layer);
/// a step adds the hidden state's projection h W_hh^T + b_hh and applies the gates, in PyTorch's
/// order (LSTM: input, forget, cell, output; GRU: reset, update, new).
#include "autodiff/tensor.hpp"

namespace tapegrad::nn {

/// An LSTM step's new hidden and cell states.
struct LstmState {
  Tensor h;  ///< [batch, hidden]
  Tensor c;  ///< [batch, hidden]
};

/// i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of x_proj + h W_hh^T + b_hh (split in four);
/// c' = f c + i g; h' = o tanh(c'). x_proj [batch, 4 hidden]; b_hh may be undefined.
LstmState lstm_cell(const Tensor& x_proj, const Tensor& h, const Tensor& c, const Tensor& w_hh, const Tensor& b_hh);

/// r, z = sigmoid of (x_proj + h W_hh^T + b_hh)'s first two thirds; n = tanh(x_n + r (h W_hn^T +
/// b_hn)); h' = (1 - z) n + z h. x_proj [batch, 3 hidden]; b_hh may be undefined.
Tensor gru_cell(const Tensor& x_proj, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh);

}  // namespace tapegrad::nn
