// LSTM and GRU: values against PyTorch's cell equations written here in plain doubles, PyTorch's
// names and shapes, both layouts and initial states, first and second derivatives by central
// differences (float64), and bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <utility>

#include "autodiff/autodiff.hpp"
#include "nn/functional/vector_math.hpp"
#include "nn/nn.hpp"
#include "support/check.hpp"

using namespace tapegrad;

namespace {

using test::random_array;

double sigmoid_of(double v) { return 1.0 / (1.0 + std::exp(-v)); }

/// PyTorch's equations, one layer at a time. x [seq, batch, in] (sequence first); states
/// [layers, batch, hidden]. Returns the output sequence and writes the last states into h, c.
std::vector<double> reference_run(const nn::Recurrent& m, bool lstm, const Array& x, std::vector<double>& h,
                                  std::vector<double>& c) {
  const int64_t T = x.shape()[0], B = x.shape()[1], H = m.hidden_size, G = lstm ? 4 : 3;
  std::vector<double> in(x.to_vector());
  int64_t in_size = x.shape()[2];
  for (int64_t l = 0; l < m.options.num_layers; ++l) {
    const nn::RecurrentLayerWeights& w = m.layers[size_t(l)];
    const Array &wih = w.weight_ih.value(), &whh = w.weight_hh.value();
    std::vector<double> out(size_t(T * B * H));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t b = 0; b < B; ++b) {
        double* hs = &h[size_t((l * B + b) * H)];
        double* cs = &c[size_t((l * B + b) * H)];
        std::vector<double> xg(size_t(G * H)), hg(size_t(G * H));
        for (int64_t r = 0; r < G * H; ++r) {
          xg[size_t(r)] = w.bias_ih.defined() ? w.bias_ih.value().at(r) : 0.0;
          hg[size_t(r)] = w.bias_hh.defined() ? w.bias_hh.value().at(r) : 0.0;
          for (int64_t k = 0; k < in_size; ++k)
            xg[size_t(r)] += wih.at(r * in_size + k) * in[size_t((t * B + b) * in_size + k)];
          for (int64_t k = 0; k < H; ++k) hg[size_t(r)] += whh.at(r * H + k) * hs[k];
        }
        std::vector<double> next(static_cast<size_t>(H));
        for (int64_t j = 0; j < H; ++j) {
          const auto pre = [&](int64_t k) { return xg[size_t(k * H + j)] + hg[size_t(k * H + j)]; };
          if (lstm) {  // i, f, g, o
            const double i = sigmoid_of(pre(0)), f = sigmoid_of(pre(1)), g = std::tanh(pre(2)), o = sigmoid_of(pre(3));
            cs[j] = f * cs[j] + i * g;
            next[size_t(j)] = o * std::tanh(cs[j]);
          } else {  // r, z, n
            const double r = sigmoid_of(pre(0)), z = sigmoid_of(pre(1));
            const double n = std::tanh(xg[size_t(2 * H + j)] + r * hg[size_t(2 * H + j)]);
            next[size_t(j)] = (1 - z) * n + z * hs[j];
          }
        }
        for (int64_t j = 0; j < H; ++j) hs[j] = next[size_t(j)];
        for (int64_t j = 0; j < H; ++j) out[size_t((t * B + b) * H + j)] = hs[j];
      }
    in = out;
    in_size = H;
  }
  return in;
}

void check_values(const Array& got, const std::vector<double>& want) {
  REQUIRE(got.numel() == int64_t(want.size()));
  for (int64_t i = 0; i < got.numel(); ++i) CHECK(got.at(i) == doctest::Approx(want[size_t(i)]).epsilon(1e-12));
}

}  // namespace

TEST_SUITE("recurrent") {
  TEST_CASE("LSTM and GRU: PyTorch's names and shapes") {
    std::mt19937_64 rng(1);
    nn::LSTM lstm(5, 4, rng, {.num_layers = 2});
    const nn::NamedTensors p = lstm.named_parameters();
    REQUIRE(p.size() == 8);
    const char* names[] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                           "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"};
    const Shape shapes[] = {{16, 5}, {16, 4}, {16}, {16}, {16, 4}, {16, 4}, {16}, {16}};
    for (size_t i = 0; i < 8; ++i) {
      CHECK(p[i].first == names[i]);
      CHECK(p[i].second.shape() == shapes[i]);
      for (int64_t k = 0; k < p[i].second.numel(); ++k) CHECK(std::abs(p[i].second.value().at(k)) <= 0.5);  // 1/sqrt(4)
    }
    nn::GRU gru(5, 4, rng, {.bias = false});
    const nn::NamedTensors q = gru.named_parameters();
    REQUIRE(q.size() == 2);
    CHECK(q[0].second.shape() == Shape{12, 5});
  }

  TEST_CASE("LSTM and GRU equal PyTorch's equations: two layers, both layouts, given and zero states") {
    Tape tape;
    for (const bool lstm : {true, false})
      for (const bool batch_first : {false, true})
        for (const bool given_states : {false, true}) {
          CAPTURE(lstm);
          CAPTURE(batch_first);
          CAPTURE(given_states);
          std::mt19937_64 rng(2);
          const nn::RecurrentOptions o{.num_layers = 2, .batch_first = batch_first};
          nn::LSTM lstm_model(3, 4, rng, o);
          nn::GRU gru_model(3, 4, rng, o);
          const int64_t T = 5, B = 2, H = 4;
          const Array x_seq = random_array({T, B, 3}, 3);  // [seq, batch, in]
          const Array h0 = random_array({2, B, H}, 4), c0 = random_array({2, B, H}, 5);
          std::vector<double> h(size_t(2 * B * H), 0.0), c(h);
          if (given_states) {
            h = h0.to_vector();
            c = c0.to_vector();
          }
          const nn::Recurrent& model = lstm ? static_cast<nn::Recurrent&>(lstm_model) : gru_model;
          const std::vector<double> want = reference_run(model, lstm, x_seq, h, c);
          const Tensor x = batch_first ? permute(Tensor(x_seq), {1, 0, 2}) : Tensor(x_seq);
          nn::RecurrentOutput r;
          if (lstm)
            r = given_states ? lstm_model(x, Tensor(h0), Tensor(c0)) : lstm_model(x);
          else
            r = given_states ? gru_model(x, Tensor(h0)) : gru_model(x);
          const Tensor out_seq = batch_first ? permute(r.output, {1, 0, 2}) : r.output;
          CHECK(r.output.shape() == (batch_first ? Shape{B, T, H} : Shape{T, B, H}));
          check_values(out_seq.value(), want);
          check_values(r.h.value(), h);
          if (lstm) check_values(r.c.value(), c);
          CHECK(r.c.defined() == lstm);
        }
  }

  TEST_CASE("float LSTM: its vectorised gates equal the equations to float precision") {
    Tape tape;
    std::mt19937_64 rng(4);
    nn::LSTM model(3, 8, rng, {.num_layers = 2});
    const Array x = random_array({6, 3, 3}, 6);
    std::vector<double> h(size_t(2 * 3 * 8), 0.0), c(h);
    const std::vector<double> want = reference_run(model, true, x, h, c);  // float64, libm
    model.to(DType::f32);
    const std::vector<double> values = x.to_vector();
    const nn::RecurrentOutput r = model(Tensor(Array(x.shape(), values, DType::f32)));
    for (const auto& [got, expected] : {std::pair{r.output.value(), want}, {r.h.value(), h}, {r.c.value(), c}}) {
      REQUIRE(got.numel() == static_cast<int64_t>(expected.size()));
      for (size_t i = 0; i < expected.size(); ++i)
        CHECK(got.at(static_cast<int64_t>(i)) == doctest::Approx(expected[i]).epsilon(1e-5).scale(1e-5));
    }
  }

  TEST_CASE("vector_math: float sigmoid and tanh within 2 ulp of the exact values; NaN and infinities") {
    double worst_sigmoid = 0, worst_tanh = 0;
    for (int64_t k = -900000; k <= 900000; ++k) {  // [-90, 90] in steps of 1e-4, and [-1, 1] in 1e-6
      // float arithmetic makes the inputs (GCC may skip a double -> float cast's rounding)
      for (const float xf : {float(k) * 1e-4f, float(k) * 1e-6f + 1e-7f}) {
        const double x = xf, s = 1.0 / (1.0 + std::exp(-x)), t = std::tanh(x);
        if (s > 1e-37) worst_sigmoid = std::max(worst_sigmoid, std::abs(nn::vector_math::sigmoid(xf) - s) / s);
        if (t != 0) worst_tanh = std::max(worst_tanh, std::abs(nn::vector_math::tanh(xf) - t) / std::abs(t));
      }
    }
    CHECK(worst_sigmoid < 2.4e-7);  // 2 ulp of float (2^-23 = 1.19e-7)
    CHECK(worst_tanh < 2.4e-7);
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    CHECK(std::isnan(nn::vector_math::sigmoid(nan)));
    CHECK(std::isnan(nn::vector_math::tanh(nan)));
    CHECK(nn::vector_math::sigmoid(inf) == 1.0f);
    CHECK(nn::vector_math::sigmoid(-inf) == doctest::Approx(0.0));
    CHECK(nn::vector_math::tanh(inf) == 1.0f);
    CHECK(nn::vector_math::tanh(-inf) == -1.0f);
    CHECK(nn::vector_math::tanh(0.0f) == 0.0f);
  }

  TEST_CASE("LSTM and GRU: nn::gradcheck and nn::gradgradcheck through every parameter and the states") {
    Tape tape;
    std::mt19937_64 rng(6);
    nn::LSTM lstm(3, 2, rng, {.num_layers = 2, .batch_first = true});
    nn::GRU gru(3, 2, rng, {.num_layers = 2});
    const Tensor x(random_array({2, 3, 3}, 7));             // [batch 2, seq 3, 3] for the batch-first LSTM
    const Tensor x_seq_first(random_array({3, 2, 3}, 13));  // [seq 3, batch 2, 3] for the GRU
    const Tensor h0(random_array({2, 2, 2}, 8)), c0(random_array({2, 2, 2}, 9));
    const auto lstm_loss = [&] {
      const nn::RecurrentOutput r = lstm(x, h0, c0);
      return mean(square(r.output)) + sum(r.h * r.c);
    };
    CHECK_GRADCHECK(nn::gradcheck(lstm, lstm_loss));
    CHECK_GRADCHECK(nn::gradgradcheck(lstm, lstm_loss, {.projections = 4}));
    const auto gru_loss = [&] {
      const nn::RecurrentOutput r = gru(x_seq_first, h0);
      return mean(square(r.output)) + sum(r.h);
    };
    CHECK_GRADCHECK(nn::gradcheck(gru, gru_loss));
    CHECK_GRADCHECK(nn::gradgradcheck(gru, gru_loss, {.projections = 4}));
    // The input and initial states too.
    const std::vector<Array> in = {random_array({3, 2, 3}, 10), random_array({2, 2, 2}, 11),
                                   random_array({2, 2, 2}, 12)};
    TensorFunction f = [&](std::span<const Tensor> p) {
      const nn::RecurrentOutput r = lstm(permute(p[0], {1, 0, 2}), p[1], p[2]);
      return mean(square(r.output)) + mean(r.c);
    };
    CHECK_GRADCHECK(gradcheck(f, in));
  }

  TEST_CASE("bad input names the layer and the shapes") {
    Tape tape;
    std::mt19937_64 rng(1);
    nn::LSTM lstm(3, 4, rng, {.num_layers = 2});
    nn::GRU gru(3, 4, rng);
    CHECK(test::message_of<Error>([&] { lstm(Tensor::zeros({0, 2, 3})); }).find("length 0") != std::string::npos);
    const std::string features = test::message_of<Error>([&] { gru(Tensor::zeros({5, 2, 4})); });
    CHECK(features.find("GRU") != std::string::npos);
    CHECK(features.find("[5, 2, 4]") != std::string::npos);
    CHECK(features.find("[12, 3]") != std::string::npos);
    CHECK(test::message_of<Error>([&] { lstm(Tensor::zeros({5, 3})); }).find("[seq, batch, 3]") != std::string::npos);
    const std::string state = test::message_of<Error>([&] {
      lstm(Tensor::zeros({5, 2, 3}), Tensor::zeros({1, 2, 4}), Tensor());
    });
    CHECK(state.find("h0 must be [2, 2, 4]") != std::string::npos);
    CHECK(test::message_of<Error>([&] { nn::LSTM(3, 4, rng, {.num_layers = 0}); }).find("num_layers") !=
          std::string::npos);
  }
}
