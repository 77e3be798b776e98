// A warm training step allocates nothing: tapes and buffers are reused.
#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "nn/nn.hpp"
#include "nn/optim/sgd.hpp"
#include "nn/reference/cnn.hpp"
#include "nn/seed/seed_model.hpp"
#include "support/alloc_counter.hpp"

using namespace tapegrad;

TEST_CASE("the allocation counter counts (so the zero checks below can fail)") {
  const long before = test::allocations.load();
  auto p = std::make_unique<double>(1.0);
  std::vector<double> v(100);
  CHECK(test::allocations.load() - before >= 2);
  CHECK(*p + v[0] == 1.0);
}

TEST_CASE("scalar gradients on a reused tape allocate nothing once warm") {
  Tape tape;
  std::vector<Var> x(1000);
  long during = -1;
  for (int step = 0; step < 10; ++step) {
    if (step == 3) during = test::allocations.load();
    tape.clear();
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.001 * double(i);
    Var s = 0.0;
    for (const Var& xi : x) s += exp(xi);
    Var f = log(s);
    f.backward();
    CHECK(x[0].grad() > 0);
  }
  CHECK(test::allocations.load() - during == 0);
}

TEST_CASE("a warm Hessian-vector product allocates nothing, scalar and tensor") {
  Tape tape;
  std::vector<Var> x(1000);
  long during = -1;
  for (int step = 0; step < 10; ++step) {  // H v of log-sum-exp, one sweep carrying adjoint tangents
    if (step == 3) during = test::allocations.load();
    tape.record_tangents(Tape::Tangents::second_order);
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = 0.001 * double(i);
      tape.set_tangent(x[i], double(i % 7));  // not all ones: log-sum-exp is flat along those
    }
    Var s = 0.0;
    for (const Var& xi : x) s += exp(xi);
    const Var f = log(s);
    tape.backward_second_order(f);
    CHECK(tape.grad_tangent(x[0]) != 0.0);
  }
  CHECK(test::allocations.load() - during == 0);

  std::mt19937_64 rng(0);  // the MLP below, its parameters' tangents set to a direction
  const Tensor data = Tensor::randn({16, 8}, rng);
  std::vector<Tensor> params{Tensor::randn({8, 32}, rng, DType::f64, 0.3).requires_grad(true),
                             Tensor::zeros({32}).requires_grad(true),
                             Tensor::randn({32, 4}, rng, DType::f64, 0.3).requires_grad(true)};
  std::vector<Tensor> direction;
  for (const Tensor& p : params) direction.push_back(Tensor::randn(p.shape(), rng));
  std::vector<int64_t> y(16);
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<int64_t>(i % 4);
  for (int step = 0; step < 10; ++step) {
    if (step == 3) during = test::allocations.load();
    tape.record_tangents(Tape::Tangents::second_order);
    for (size_t i = 0; i < params.size(); ++i) {
      params[i].zero_grad();
      tape.set_tangent(params[i], direction[i]);
    }
    const Tensor loss = nn::cross_entropy(matmul(tanh(matmul(data, params[0]) + params[1]), params[2]), y);
    tape.tangent(loss).backward();
    CHECK(params[0].grad().at(0) != 0.0);
  }
  CHECK(test::allocations.load() - during == 0);
}

TEST_CASE("a warm MLP training step (forward, backward, SGD update) allocates nothing") {
  std::mt19937_64 rng(0);
  Tensor x = Tensor::randn({16, 8}, rng);
  Tensor w1 = Tensor::randn({8, 32}, rng, DType::f64, 0.3).requires_grad(true);
  Tensor b1 = Tensor::zeros({32}).requires_grad(true);
  Tensor w2 = Tensor::randn({32, 4}, rng, DType::f64, 0.3).requires_grad(true);
  std::vector<int64_t> y(16);
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<int64_t>(i % 4);
  std::vector<Tensor*> params{&w1, &b1, &w2};

  Tape tape;
  long during = -1;
  double first = 0, last = 0;
  for (int step = 0; step < 10; ++step) {
    if (step == 3) during = test::allocations.load();
    tape.clear();
    for (Tensor* p : params) p->zero_grad();
    Tensor loss = nn::cross_entropy(matmul(relu(matmul(x, w1) + b1), w2), y, nn::Reduction::mean);
    loss.backward();
    for (Tensor* p : params) {  // plain SGD on the stored values
      Array& v = p->mutable_value();
      const Array& g = p->grad();
      for (int64_t i = 0; i < v.numel(); ++i) v.set(i, v.at(i) - 0.5 * g.at(i));
    }
    (step == 0 ? first : last) = loss.item();
  }
  CHECK(test::allocations.load() - during == 0);
  CHECK(last < first);  // and it trains
}

TEST_CASE("a warm step of the layers snippet's model (float32, BN, dropout, Adam) allocates nothing") {
  std::mt19937_64 rng(42);
  nn::Sequential model{nn::Linear(64, 32, rng), nn::BatchNorm1d(32), nn::ReLU(), nn::Dropout(0.2),
                       nn::Linear(32, 10, rng)};
  model.to(DType::f32);
  nn::optim::Adam opt(model.parameters(), {.lr = 1e-3});
  const Tensor x = Tensor::randn({16, 64}, rng, DType::f32);
  std::vector<int64_t> labels(16);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i % 10);
  Tape tape;
  model.train();
  long during = -1;
  double first = 0, last = 0;
  for (int step = 0; step < 10; ++step) {
    if (step == 3) during = test::allocations.load();
    tape.clear();
    opt.zero_grad();
    Tensor loss = nn::cross_entropy(model(x), labels);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  CHECK(test::allocations.load() - during == 0);
  CHECK(last < first);
}

TEST_CASE("warm steps of a CNN (conv, batch norm 2d, pooling, Dropout2d) and an LSTM allocate nothing") {
  std::mt19937_64 rng(3);
  nn::Sequential cnn{nn::Conv2d(1, 4, 3, rng, {.padding = 1}),
                     nn::BatchNorm2d(4),
                     nn::ReLU(),
                     nn::MaxPool2d(2),
                     nn::Dropout2d(0.2),
                     nn::Conv2d(4, 6, 3, rng, {.padding = 1, .groups = 2}),
                     nn::AvgPool2d(2),
                     nn::AdaptiveAvgPool2d(1),
                     nn::Flatten(),
                     nn::Linear(6, 3, rng)};
  cnn.to(DType::f32);
  nn::LSTM lstm(5, 8, rng, {.num_layers = 2, .batch_first = true});
  lstm.to(DType::f32);
  nn::optim::Adam opt(cnn.parameters(), {.lr = 1e-3});
  nn::optim::SGD lstm_opt(lstm.parameters(), {.lr = 0.1});
  const Tensor images = Tensor::randn({4, 1, 8, 8}, rng, DType::f32);
  const Tensor sequence = Tensor::randn({3, 6, 5}, rng, DType::f32);
  const std::vector<int64_t> labels = {0, 1, 2, 1};
  Tape tape;
  long during = -1;
  for (int step = 0; step < 8; ++step) {
    if (step == 3) during = test::allocations.load();
    tape.clear();
    opt.zero_grad();
    lstm_opt.zero_grad();
    (nn::cross_entropy(cnn(images), labels) + mean(square(lstm(sequence).output))).backward();
    opt.step();
    lstm_opt.step();
  }
  CHECK(test::allocations.load() - during == 0);
}

TEST_CASE("a warm step of the hand-derived CNN twin allocates nothing") {
  nn::reference::Cnn<float> twin(
      {1, 8, 8},
      {{.in_channels = 1, .out_channels = 4, .options = {.padding = 1}, .batch_norm = true, .max_pool = 2},
       {.in_channels = 4, .out_channels = 6, .options = {.padding = 1, .groups = 2}, .max_pool = 2}},
      {{.in = 24, .out = 5, .dropout = 0.25}, {.in = 5, .out = 3}});
  std::vector<std::mt19937_64> generators{std::mt19937_64(1)};
  const std::vector<float> images(4 * 64, 0.5f);
  const std::vector<int64_t> labels = {0, 1, 2, 1};
  long during = -1;
  for (int step = 0; step < 6; ++step) {
    if (step == 3) during = test::allocations.load();
    twin.head().draw_masks(4, generators);
    twin.train_step(images, labels);
  }
  CHECK(test::allocations.load() - during == 0);
}

namespace {
tapegrad::nn::Network seed_test_network() {
  using namespace tapegrad::nn;
  Network net;
  net.add_input(0);
  net.add_input(1);
  for (int k = 2; k < 8; ++k) {
    net.add_neuron({.id = k, .activation = Activation::tanh, .batch_norm = k % 2 == 0});
    net.add_arrow({0, k, 0.3 * k, 0.8});
    net.add_arrow({1, k, -0.2 * k, {}});
  }
  net.add_neuron({.id = 8});
  net.add_neuron({.id = 9});
  for (int k = 2; k < 8; ++k) net.add_arrow({k, 8 + k % 2, 0.5, {}});
  net.set_outputs({8, 9});
  net.default_keep = 0.9;
  return net;
}
}  // namespace

TEST_CASE("a warm seed-network training step (mask draw, batch norm, momentum) allocates nothing") {
  using namespace tapegrad::nn;
  SeedModel model(seed_test_network());
  optim::SGD opt(model.parameters(), {.lr = 0.05, .momentum = 0.9});
  std::mt19937_64 rng(1);
  const Array x(Shape{8, 2}, {0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, 1.0, 1.1, -1.2, 0.3, 0.3, -0.5, 0.1});
  const std::vector<double> labels{0, 1, 1, 0, 1, 0, 0, 1};
  Tape tape;
  long during = -1;
  for (int step = 0; step < 10; ++step) {
    if (step == 3) during = test::allocations.load();
    tape.clear();
    opt.zero_grad();
    model.draw_mask(rng, 8);
    Tensor loss = model.loss(model.forward(x).z, labels, LossKind::cross_entropy);
    loss.backward();
    opt.step();
  }
  CHECK(test::allocations.load() - during == 0);
}

TEST_CASE("replayed steps allocate nothing and take no new tape memory, however many (seed network, MLP)") {
  using namespace tapegrad::nn;
  const Array x(Shape{8, 2}, {0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, 1.0, 1.1, -1.2, 0.3, 0.3, -0.5, 0.1});
  const std::vector<double> labels{0, 1, 1, 0, 1, 0, 0, 1};
  const int steps = 600;  // a sweep's buffers kept per step would need new pool chunks within these
  {
    SeedModel model(seed_test_network());
    optim::SGD opt(model.parameters(), {.lr = 0.05, .momentum = 0.9});
    std::mt19937_64 rng(1);
    Tape tape;
    model.draw_mask(rng, 8);  // drawn again by every replay
    const Tensor loss = model.loss(model.forward(x).z, labels, LossKind::cross_entropy);
    long during = -1;
    for (int step = 0; step < steps; ++step) {
      if (step == 3) during = test::allocations.load();
      opt.zero_grad();
      tape.replay();
      loss.backward();
      opt.step();
    }
    CHECK(test::allocations.load() - during == 0);
  }
  std::mt19937_64 rng(2);
  Linear l1(2, 16, rng), l2(16, 2, rng);
  const std::vector<int64_t> classes{0, 1, 1, 0, 1, 0, 0, 1};
  Tape tape;
  const Tensor loss = cross_entropy(l2(relu(l1(Tensor(x)))), classes);
  std::vector<Tensor> params = l1.parameters();
  for (const Tensor& p : l2.parameters()) params.push_back(p);
  long during = -1;
  for (int step = 0; step < steps; ++step) {
    if (step == 3) during = test::allocations.load();
    for (Tensor& p : params) p.zero_grad();
    tape.replay();
    loss.backward();
  }
  CHECK(test::allocations.load() - during == 0);
}
