// The tape's layers against their hand-derived twin (nn/reference/mlp.hpp) in float64: the same
// parameters, the same dropout and DropConnect masks (each layer's generator seeded alike), and
// every gradient, running statistic and the loss equal to 1e-12.
#include <doctest/doctest.h>

#include <random>

#include "autodiff/autodiff.hpp"
#include "nn/nn.hpp"
#include "nn/reference/mlp.hpp"
#include "support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;

namespace {

void check_twin(BatchNormMode mode, bool dropconnect, int64_t batch) {
  CAPTURE(static_cast<int>(mode));
  CAPTURE(dropconnect);
  CAPTURE(batch);
  std::mt19937_64 init(7);
  const uint64_t dropout_seed = 11, dropconnect_seed = 13;
  // Linear(6, 8) BN ReLU Dropout(0.25); [DropConnect](Linear(8, 5)) BN Tanh; Linear(5, 3)
  Sequential model{Linear(6, 8, init), BatchNorm1d(8, {.mode = mode}), ReLU(), Dropout(0.25, dropout_seed)};
  if (dropconnect) {
    model.push_back(DropConnect(Linear(8, 5, init), 0.7, MaskMode::per_minibatch, dropconnect_seed));
  } else {
    model.push_back(Linear(8, 5, init));
  }
  model.push_back(BatchNorm1d(5, {.mode = mode}));
  model.push_back(Tanh());
  model.push_back(Linear(5, 3, init));
  reference::Mlp<double> twin({{.in = 6, .out = 8, .activation = Activation::relu, .batch_norm = true, .dropout = 0.25},
                               {.in = 8,
                                .out = 5,
                                .activation = Activation::tanh,
                                .batch_norm = true,
                                .dropconnect_keep = dropconnect ? 0.7 : 1.0},
                               {.in = 5, .out = 3}},
                              {.batch_norm_mode = mode});
  // Parameters in the order of named_parameters(): per layer weight, bias, then gamma, beta.
  const auto params = model.parameters();
  size_t next = 0;
  for (auto& layer : twin.layers()) {
    std::vector<std::vector<double>*> parts{&layer.weight, &layer.bias};
    if (layer.spec.batch_norm) parts.insert(parts.end(), {&layer.gamma, &layer.beta});
    for (auto* part : parts) *part = params.at(next++).value().to_vector();
  }
  REQUIRE(next == params.size());
  std::vector<std::mt19937_64> generators{std::mt19937_64(dropout_seed)};
  if (dropconnect) generators.emplace_back(dropconnect_seed);
  twin.draw_masks(batch, generators);

  const test::RandomBatch data(batch, 6, 3, init);
  const std::vector<double>& x = data.x;
  const std::vector<int64_t>& labels = data.labels;

  Tape tape;
  model.train();
  model.zero_grad();
  Tensor loss = cross_entropy(model(Tensor(Array(Shape{batch, 6}, x))), labels);
  loss.backward();
  const double twin_loss = twin.train_step(x, labels);
  CHECK(loss.item() == doctest::Approx(twin_loss).epsilon(1e-12));

  next = 0;
  for (const auto& layer : twin.layers()) {
    std::vector<const std::vector<double>*> grads{&layer.grad_weight, &layer.grad_bias};
    if (layer.spec.batch_norm) grads.insert(grads.end(), {&layer.grad_gamma, &layer.grad_beta});
    for (const auto* g : grads) {
      CAPTURE(next);
      CHECK(test::max_relative_gap(params.at(next++).grad(), *g) < 1e-12);
    }
  }
  const auto buffers = model.buffers();  // running_mean, running_var of each batch norm
  REQUIRE(buffers.size() == 4);
  CHECK(test::max_relative_gap(buffers[0].value(), twin.layers()[0].running_mean) < 1e-12);
  CHECK(test::max_relative_gap(buffers[1].value(), twin.layers()[0].running_var) < 1e-12);
  CHECK(test::max_relative_gap(buffers[2].value(), twin.layers()[1].running_mean) < 1e-12);
  CHECK(test::max_relative_gap(buffers[3].value(), twin.layers()[1].running_var) < 1e-12);
}

}  // namespace

TEST_CASE("MLP twin: the tape's layers equal the hand-derived matrix backprop to 1e-12 (float64)") {
  for (BatchNormMode mode : {BatchNormMode::full, BatchNormMode::seed})
    for (bool dropconnect : {false, true})
      for (int64_t batch : {2, 9, 32}) check_twin(mode, dropconnect, batch);
}
