#include "nn/functional/recurrent.hpp"

#include <type_traits>

#include "autodiff/elementwise_math.hpp"
#include "autodiff/op.hpp"
#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/shape_ops.hpp"
#include "nn/functional/linear.hpp"
#include "nn/functional/vector_math.hpp"

namespace tapegrad::nn {

namespace {
/// Gate k of `gates` [batch, n hidden].
Tensor gate(const Tensor& gates, int64_t k, int64_t hidden) { return slice(gates, 1, k * hidden, (k + 1) * hidden); }
}  // namespace

namespace {

using math::SigmoidOp;
using math::TanhOp;

// The gates' activations: vectorisable in float (nn/functional/vector_math.hpp), libm's in double.
template <class T>
T sigmoid_of(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vector_math::sigmoid(x);
  else
    return SigmoidOp::value(x);
}
template <class T>
T tanh_of(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vector_math::tanh(x);
  else
    return TanhOp::value(x);
}

/// The LSTM step's gates as a composite of tape ops (the fused op's tangent rule): the cell state
/// c' = f c + i g, or the hidden state h' = o tanh(c') when `hidden_state`.
Tensor lstm_composite(const Tensor& x_proj, const Tensor& h_proj, const Tensor& c, bool hidden_state) {
  const int64_t hidden = c.shape()[1];
  const Tensor gates = x_proj + h_proj;
  const Tensor i = sigmoid(gate(gates, 0, hidden)), f = sigmoid(gate(gates, 1, hidden));
  const Tensor g = tanh(gate(gates, 2, hidden));
  const Tensor c_next = f * c + i * g;
  return hidden_state ? sigmoid(gate(gates, 3, hidden)) * tanh(c_next) : c_next;
}

/// One fused op for the gates of an LSTM step: pre-activations x_proj + h_proj [batch, 4 hidden]
/// in PyTorch's order (i, f, g, o); h' = o tanh(c') the output, c' = f c + i g the second output.
LstmState lstm_gates(const Tensor& x_proj, const Tensor& h_proj, const Tensor& c) {
  const Tensor* inputs[] = {&x_proj, &h_proj, &c};
  OpRecord op("lstm_cell", inputs);
  const Shape& cs = op.in(2).shape();
  if (cs.rank() != 2 || !(op.in(0).shape() == Shape{cs[0], 4 * cs[1]}) || !(op.in(1).shape() == op.in(0).shape()))
    raise<ShapeError>(
        "lstm_cell: the gates must be [batch, 4 hidden] for a cell state [batch, hidden], got {}, {} and {}",
        op.in(0).shape(), op.in(1).shape(), cs);
  const int64_t batch = cs[0], hidden = cs[1];
  const DType dtype = op.in(0).dtype();
  Array& h_next = op.output(cs, dtype);
  Array& c_next = op.second_output(cs, dtype);
  Array& acts = op.save_for_backward(Shape{batch, 4 * hidden}, dtype);  // i, f, g, o
  Array& tanh_c = op.save_for_backward(cs, dtype);                      // tanh(c')
  op.forward(
      [&xp = op.in(0), &hp_in = op.in(1), &c_in = op.in(2), &h_next, &c_next, &acts, &tanh_c, dtype, batch, hidden] {
        visit(dtype, [&]<class T>(T) {
          const T* px = xp.data<T>();
          const T* ph = hp_in.data<T>();
          const T* pc = c_in.data<T>();
          T* a = acts.data<T>();
          T* pcn = c_next.data<T>();
          T* phn = h_next.data<T>();
          T* ptc = tanh_c.data<T>();
          for (int64_t b = 0; b < batch; ++b) {
            const int64_t row = b * 4 * hidden;
            for (int64_t q = 0; q < 4; ++q) {  // i, f, o: sigmoid; g: tanh
              const T* x = px + row + q * hidden;
              const T* hp = ph + row + q * hidden;
              T* act = a + row + q * hidden;
              if (q == 2) {
#pragma omp simd
                for (int64_t j = 0; j < hidden; ++j) act[j] = tanh_of(x[j] + hp[j]);
              } else {
#pragma omp simd
                for (int64_t j = 0; j < hidden; ++j) act[j] = sigmoid_of(x[j] + hp[j]);
              }
            }
            const T* i = a + row;
            const T* f = i + hidden;
            const T* g = f + hidden;
            const T* o = g + hidden;
            const int64_t at = b * hidden;
#pragma omp simd
            for (int64_t j = 0; j < hidden; ++j) {
              pcn[at + j] = f[j] * pc[at + j] + i[j] * g[j];
              ptc[at + j] = tanh_of(pcn[at + j]);
              phn[at + j] = o[j] * ptc[at + j];
            }
          }
        });
      });
  const Array* kept_acts = &acts;
  const Array* kept_tanh_c = &tanh_c;
  Tensor h = op.finish(
      [kept_acts, kept_tanh_c, batch, hidden](BackwardContext& ctx) {
        visit(ctx.output().dtype(), [&]<class T>(T) {
          const T* dh = ctx.grad_output().data<T>();
          const T* dcn = ctx.grad_second_output().data<T>();
          const T* a = kept_acts->data<T>();
          const T* tc = kept_tanh_c->data<T>();
          const T* pc = ctx.input(2).data<T>();
          T* gx = ctx.needs_grad(0) ? ctx.grad_input(0).template data<T>() : nullptr;
          T* gh = ctx.needs_grad(1) ? ctx.grad_input(1).template data<T>() : nullptr;
          T* gc = ctx.needs_grad(2) ? ctx.grad_input(2).template data<T>() : nullptr;
          for (int64_t b = 0; b < batch; ++b) {
            const T* i = a + b * 4 * hidden;
            const T* f = i + hidden;
            const T* g = f + hidden;
            const T* o = g + hidden;
            for (int64_t j = 0; j < hidden; ++j) {
              const int64_t at = b * hidden + j, row = b * 4 * hidden + j;
              // dL/dc' through both outputs: h' = o tanh(c') adds o tanh'(c') dL/dh'
              const T dc = dcn[at] + dh[at] * o[j] * TanhOp::partial(T(0), tc[at]);
              const T da[4] = {dc * g[j] * SigmoidOp::partial(T(0), i[j]),         // c' = f c + i g
                               dc * pc[at] * SigmoidOp::partial(T(0), f[j]),       //
                               dc * i[j] * TanhOp::partial(T(0), g[j]),            //
                               dh[at] * tc[at] * SigmoidOp::partial(T(0), o[j])};  // h' = o tanh(c')
              for (int q = 0; q < 4; ++q) {
                if (gx) gx[row + q * hidden] += da[q];
                if (gh) gh[row + q * hidden] += da[q];
              }
              if (gc) gc[at] += dc * f[j];
            }
          }
        });
      },
      [](TangentContext& ctx) {  // the composite's tangents, c' as the second output's
        const Tensor tc =
            ctx.tangent_of([&] { return lstm_composite(ctx.input(0), ctx.input(1), ctx.input(2), false); });
        if (tc.defined()) ctx.set_second_output_tangent(tc);
        return ctx.tangent_of([&] { return lstm_composite(ctx.input(0), ctx.input(1), ctx.input(2), true); });
      });
  return {h, op.second()};
}

}  // namespace

LstmState lstm_cell(const Tensor& x_proj, const Tensor& h, const Tensor& c, const Tensor& w_hh, const Tensor& b_hh) {
  return lstm_gates(x_proj, linear(h, w_hh, b_hh), c);
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
