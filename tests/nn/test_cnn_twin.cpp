// The tape's convolution, BatchNorm2d and pooling layers against their hand-derived twin
// (nn/reference/cnn.hpp) in float64: the same parameters and dropout mask, and every gradient,
// running statistic and the loss equal to 1e-12.
#include <doctest/doctest.h>

#include <random>

#include "autodiff/autodiff.hpp"
#include "nn/nn.hpp"
#include "nn/reference/cnn.hpp"
#include "support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;

namespace {

// Parameters (or their gradients) of the twin in the order of the tape model's named_parameters():
// per block weight, bias, gamma, beta; then the head's layers.
template <class Block, class Layer>
std::vector<std::vector<double>*> twin_parameters(std::vector<Block>& blocks, std::vector<Layer>& head, bool grads) {
  std::vector<std::vector<double>*> out;
  for (auto& b : blocks) {
    out.push_back(grads ? &b.grad_weight : &b.weight);
    if (b.spec.bias) out.push_back(grads ? &b.grad_bias : &b.bias);
    if (b.spec.batch_norm) {
      out.push_back(grads ? &b.grad_gamma : &b.gamma);
      out.push_back(grads ? &b.grad_beta : &b.beta);
    }
  }
  for (auto& l : head) {
    out.push_back(grads ? &l.grad_weight : &l.weight);
    out.push_back(grads ? &l.grad_bias : &l.bias);
  }
  return out;
}

void check_twin(BatchNormMode mode, int64_t batch, const Conv2dOptions& second) {
  CAPTURE(static_cast<int>(mode));
  CAPTURE(batch);
  CAPTURE(second.stride);
  CAPTURE(second.groups);
  std::mt19937_64 init(5);
  const uint64_t dropout_seed = 17;
  // 2x9x9 images: Conv(2, 4, 3, pad 1) BN2d ReLU MaxPool(2) -> 4x4x4; Conv(4, 6, 3, second, no
  // bias) BN2d Tanh; Flatten; Linear ReLU Dropout(0.25); Linear(.., 3)
  const BatchNormOptions bn{.mode = mode};
  Sequential model{Conv2d(2, 4, 3, init, {.padding = 1}),         BatchNorm2d(4, bn), ReLU(), MaxPool2d(2),
                   Conv2d(4, 6, 3, init, second, /*bias=*/false), BatchNorm2d(6, bn), Tanh(), Flatten()};
  const int64_t side = (4 + 2 * second.padding - 3) / second.stride + 1, features = 6 * side * side;
  model.push_back(Linear(features, 7, init));
  model.push_back(ReLU());
  model.push_back(Dropout(0.25, dropout_seed));
  model.push_back(Linear(7, 3, init));
  reference::Cnn<double> twin(
      {2, 9, 9},
      {{.in_channels = 2, .out_channels = 4, .options = {.padding = 1}, .batch_norm = true, .max_pool = 2},
       {.in_channels = 4,
        .out_channels = 6,
        .options = second,
        .bias = false,
        .batch_norm = true,
        .activation = Activation::tanh}},
      {{.in = features, .out = 7, .dropout = 0.25}, {.in = 7, .out = 3}}, {.batch_norm_mode = mode});
  const auto params = model.parameters();
  const auto parts = twin_parameters(twin.blocks(), twin.head().layers(), false);
  REQUIRE(parts.size() == params.size());
  for (size_t i = 0; i < parts.size(); ++i) *parts[i] = params[i].value().to_vector();
  std::vector<std::mt19937_64> generators{std::mt19937_64(dropout_seed)};
  twin.head().draw_masks(batch, generators);

  const test::RandomBatch data(batch, 2 * 9 * 9, 3, init);
  const std::vector<double>& x = data.x;
  const std::vector<int64_t>& labels = data.labels;

  Tape tape;
  model.train();
  model.zero_grad();
  Tensor loss = cross_entropy(model(Tensor(Array(Shape{batch, 2, 9, 9}, x))), labels);
  loss.backward();
  const double twin_loss = twin.train_step(x, labels);
  CHECK(loss.item() == doctest::Approx(twin_loss).epsilon(1e-12));
  const auto grads = twin_parameters(twin.blocks(), twin.head().layers(), true);
  for (size_t i = 0; i < grads.size(); ++i) {
    CAPTURE(i);
    CHECK(test::max_relative_gap(params[i].grad(), *grads[i]) < 1e-12);
  }
  const auto buffers = model.buffers();  // running_mean, running_var of each BatchNorm2d
  REQUIRE(buffers.size() == 4);
  for (size_t b = 0; b < 2; ++b) {
    CHECK(test::max_relative_gap(buffers[2 * b].value(), twin.blocks()[b].running_mean) < 1e-12);
    CHECK(test::max_relative_gap(buffers[2 * b + 1].value(), twin.blocks()[b].running_var) < 1e-12);
  }
}

}  // namespace

TEST_CASE("CNN twin: the tape's Conv2d, BatchNorm2d and MaxPool2d equal the hand-derived backprop to 1e-12 (float64)") {
  for (BatchNormMode mode : {BatchNormMode::full, BatchNormMode::seed})
    for (int64_t batch : {1, 5})
      for (const Conv2dOptions& second :
           {Conv2dOptions{.padding = 1}, Conv2dOptions{.stride = 2, .padding = 1, .groups = 2}})
        check_twin(mode, batch, second);
}

TEST_CASE("CNN twin: blocks that do not fit are refused, naming the block") {
  using reference::Cnn;
  const std::vector<reference::MlpLayerSpec> head{{.in = 4 * 4 * 4, .out = 3}};
  const reference::ConvBlockSpec fits{.in_channels = 1, .out_channels = 4, .options = {.padding = 1}, .max_pool = 2};
  CHECK_NOTHROW(Cnn<double>({1, 8, 8}, {fits}, head));
  reference::ConvBlockSpec wrong_channels = fits;
  wrong_channels.in_channels = 3;
  CHECK_THROWS_WITH_AS(Cnn<double>({1, 8, 8}, {wrong_channels}, head),
                       doctest::Contains("block 0 takes 3 channels, its input has 1"), ValueError);
  CHECK_THROWS_WITH_AS(Cnn<double>({1, 8, 8}, {fits}, {{.in = 10, .out = 3}}),
                       doctest::Contains("the head takes 10 features, the last block gives 64"), ValueError);
  reference::ConvBlockSpec too_big = fits;
  too_big.kernel = 11;
  CHECK_THROWS_AS(Cnn<double>({1, 8, 8}, {too_big}, head), ShapeError);
  Cnn<double> cnn({1, 8, 8}, {fits}, head);
  std::vector<double> x(3 * 64);
  std::vector<int64_t> labels{0, 1};
  CHECK_THROWS_WITH_AS(cnn.train_step(x, labels), doctest::Contains("192 values for 2 labels"), ShapeError);
  // full-mode batch norm over one value per channel (a 1x1 image, batch 1), as the tape's refuses it
  Cnn<double> one_value({1, 1, 1},
                        {{.in_channels = 1, .out_channels = 2, .kernel = 1, .options = {}, .batch_norm = true}},
                        {{.in = 2, .out = 3}});
  std::vector<double> pixel{0.5};
  std::vector<int64_t> label{1};
  CHECK_THROWS_WITH_AS(one_value.train_step(pixel, label), doctest::Contains("more than one value per channel"),
                       ValueError);
}
