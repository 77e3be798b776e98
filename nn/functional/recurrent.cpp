#include "nn/functional/recurrent.hpp"

#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/shape_ops.hpp"
#include "nn/functional/linear.hpp"

namespace tapegrad::nn {

namespace {
/// Gate k of `gates` [batch, n hidden].
Tensor gate(const Tensor& gates, int64_t k, int64_t hidden) { return slice(gates, 1, k * hidden, (k + 1) * hidden); }
}  // namespace

LstmState lstm_cell(const Tensor& x_proj, const Tensor& h, const Tensor& c, const Tensor& w_hh, const Tensor& b_hh) {
  const int64_t hidden = h.shape()[1];
  const Tensor gates = x_proj + linear(h, w_hh, b_hh);
  const Tensor i = sigmoid(gate(gates, 0, hidden)), f = sigmoid(gate(gates, 1, hidden));
  const Tensor g = tanh(gate(gates, 2, hidden)), o = sigmoid(gate(gates, 3, hidden));
  const Tensor c_next = f * c + i * g;
  return {o * tanh(c_next), c_next};
}

Tensor gru_cell(const Tensor& x_proj, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  const int64_t hidden = h.shape()[1];
  const Tensor h_proj = linear(h, w_hh, b_hh);
  const Tensor r = sigmoid(gate(x_proj, 0, hidden) + gate(h_proj, 0, hidden));
  const Tensor z = sigmoid(gate(x_proj, 1, hidden) + gate(h_proj, 1, hidden));
  const Tensor n = tanh(gate(x_proj, 2, hidden) + r * gate(h_proj, 2, hidden));
  return n + z * (h - n);  // (1 - z) n + z h
}

}  // namespace tapegrad::nn
