// GradBench's lstm eval (ADBench's): the loss of an l-layer LSTM, b units per layer (one per bit of
// a character), predicting each next character of a c-character sequence (objective), and its
// gradient in the main (l x 8b) and extra (3 x b) parameters (jacobian), by the scalar tape. The
// model's vectors hold b = 7 values, far too few for tensor ops to pay for their bookkeeping, so one
// template serves both: T = double is the objective, T = Var records it, one expression template
// per cell update and per hidden output, and one sweep gives the gradient.
#include <cmath>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "tool.hpp"
#ifdef TAPEGRAD_GRADBENCH_CHECKOUT  // its primal is the one timed (tool.hpp)
#include "gradbench/evals/lstm.hpp"
#endif

namespace {

using gradbench_tool::json;

struct Input {
  int l, c, b;                       // layers, characters, bits per character (the units of a layer)
  std::vector<double> main_params;   // per layer: weights then biases of the forget, input, output gates, change
  std::vector<double> extra_params;  // input weights, output weights, output biases
  std::vector<double> state;         // per layer: hidden then cell
  std::vector<double> sequence;      // c x b bits
  explicit Input(const json& in) {
    const auto rows = [&in](const char* name, size_t count, size_t width) {
      const auto r = in.at(name).get<std::vector<std::vector<double>>>();
      std::vector<double> flat;
      if (r.size() != count) throw std::invalid_argument(std::string("lstm: wrong number of rows in ") + name);
      for (const auto& row : r) {
        if (row.size() != width) throw std::invalid_argument(std::string("lstm: a row of the wrong length in ") + name);
        flat.insert(flat.end(), row.begin(), row.end());
      }
      return flat;
    };
    const auto main_rows = in.at("main_params").size(), sequence_rows = in.at("sequence").size();
    if (main_rows < 2 || main_rows % 2 != 0 || in.at("main_params")[0].size() % 4 != 0 || sequence_rows < 2)
      throw std::invalid_argument(
          "lstm: main_params must be 2l rows of 4b values, and the sequence 2 characters or more");
    l = static_cast<int>(main_rows / 2);
    b = static_cast<int>(in.at("main_params")[0].size() / 4);
    c = static_cast<int>(sequence_rows);
    if (b < 1) throw std::invalid_argument("lstm: no units");
    main_params = rows("main_params", main_rows, 4 * static_cast<size_t>(b));
    extra_params = rows("extra_params", 3, static_cast<size_t>(b));
    state = rows("state", main_rows, static_cast<size_t>(b));
    sequence = rows("sequence", sequence_rows, static_cast<size_t>(b));
  }
};

using std::exp, std::log, std::tanh, tapegrad::exp, tapegrad::log, tapegrad::tanh, tapegrad::sigmoid;
double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// -1/((c-1) b) sum_t sum_i next_i log softmax_i(predicted), where softmax's denominator has an
// extra 2 (ADBench's log(sum exp + 2)). state (hidden, cell per layer) is updated in place; ypred is
// scratch of b values.
template <class T>
T objective(const Input& in, const T* main, const T* extra, std::vector<T>& state, std::vector<T>& ypred) {
  const int b = in.b;
  const T* in_weight = extra;
  const T* out_weight = extra + b;
  const T* out_bias = extra + 2 * b;
  T total = 0.0;
  for (int t = 0; t + 1 < in.c; ++t) {
    const double* bits = &in.sequence[static_cast<size_t>(t * b)];
    for (int i = 0; i < b; ++i) ypred[i] = bits[i] * in_weight[i];
    const T* x = ypred.data();  // the layer's input
    for (int layer = 0; layer < in.l; ++layer) {
      const T* w = main + 8 * b * layer;  // weights: forget, in, out, change; then biases, likewise
      const T* bias = w + 4 * b;
      T* hidden = state.data() + 2 * b * layer;
      T* cell = hidden + b;
      for (int i = 0; i < b; ++i) {
        cell[i] = cell[i] * sigmoid(x[i] * w[i] + bias[i]) +  // forget gate
                  sigmoid(hidden[i] * w[b + i] + bias[b + i]) *
                      tanh(hidden[i] * w[3 * b + i] + bias[3 * b + i]);              // in gate, change
        hidden[i] = sigmoid(x[i] * w[2 * b + i] + bias[2 * b + i]) * tanh(cell[i]);  // out gate
      }
      x = hidden;
    }
    for (int i = 0; i < b; ++i) ypred[i] = x[i] * out_weight[i] + out_bias[i];
    T sum = exp(ypred[0]);
    for (int i = 1; i < b; ++i) sum = sum + exp(ypred[i]);
    const T lse = log(sum + 2.0);
    const double* next = bits + b;
    for (int i = 0; i < b; ++i) total = total + next[i] * (ypred[i] - lse);
  }
  return -total / static_cast<double>((in.c - 1) * b);
}

struct Objective : Input {
  using Output = double;
  std::vector<double> state_now, ypred;
  using Input::Input;
  void compute(double& loss) {
    state_now = state;
    ypred.resize(static_cast<size_t>(b));
    loss = objective(*this, main_params.data(), extra_params.data(), state_now, ypred);
  }
};

struct Jacobian : Input {  // on a tape kept warm across runs: its buffers are reused
  using Output = std::vector<double>;
  tapegrad::Tape tape;
  std::vector<tapegrad::Var> params, state_now, ypred;  // params: main, then extra
  using Input::Input;
  void compute(std::vector<double>& gradient) {
    tape.clear();
    params.assign(main_params.begin(), main_params.end());
    params.insert(params.end(), extra_params.begin(), extra_params.end());
    state_now.assign(state.begin(), state.end());
    ypred.resize(static_cast<size_t>(b));
    objective(*this, params.data(), params.data() + main_params.size(), state_now, ypred).backward();
    gradient.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) gradient[i] = params[i].grad();
  }
};

}  // namespace

int main(int argc, char** argv) {
  return gradbench_tool::tool_main(argc, argv,
                                   {{"objective", gradbench_tool::run<Objective, TAPEGRAD_CHECKOUTS(lstm::Objective)>},
                                    {"jacobian", gradbench_tool::run<Jacobian>}});
}
