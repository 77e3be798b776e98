// Tape::replay: a recording run again on its leaves' new values equals recording the same step
// afresh, bit for bit (values, loss and gradients), and what cannot be replayed is refused by name.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "nn/nn.hpp"
#include "support/check.hpp"

using namespace tapegrad;

namespace {

/// An MLP, in float64 or float32, with batch norm and dropout (training mode) if asked.
template <DType kType, bool kBnDropout>
struct MlpModel {
  static constexpr DType kDType = kType;
  nn::Sequential net;
  explicit MlpModel(std::mt19937_64& rng) {
    net.push_back(nn::Linear(7, 6, rng));
    if (kBnDropout) net.push_back(nn::BatchNorm1d(6));
    net.push_back(nn::ReLU());
    if (kBnDropout) net.push_back(nn::Dropout(0.3, 11));
    net.push_back(nn::Linear(6, 3, rng));
    net.to(kType);
  }
  std::vector<Tensor> parameters() const { return net.parameters(); }
  std::vector<Tensor> buffers() const { return net.buffers(); }
  Tensor loss(const Tensor& x, std::span<const int64_t> labels, std::span<const int64_t>) {
    return nn::cross_entropy(net(x), labels, nn::Reduction::mean, 0.1);
  }
};

/// A CNN with every convolutional layer (training mode: batch norm and Dropout2d draw and update).
struct CnnModel {
  static constexpr DType kDType = DType::f64;
  nn::Sequential net;
  explicit CnnModel(std::mt19937_64& rng) {
    net.push_back(nn::Conv2d(2, 4, 3, rng, {.padding = 1}));
    net.push_back(nn::BatchNorm2d(4));
    net.push_back(nn::ReLU());
    net.push_back(nn::Dropout2d(0.3, 5));
    net.push_back(nn::MaxPool2d(2));
    net.push_back(nn::Conv2d(4, 4, 3, rng, {.padding = 1, .groups = 2}));
    net.push_back(nn::AvgPool2d(2));
    net.push_back(nn::AdaptiveAvgPool2d(1));
    net.push_back(nn::Flatten());
    net.push_back(nn::LayerNorm(std::vector<int64_t>{4}));
    net.push_back(nn::Linear(4, 3, rng));
  }
  std::vector<Tensor> parameters() const { return net.parameters(); }
  std::vector<Tensor> buffers() const { return net.buffers(); }
  Tensor loss(const Tensor& x, std::span<const int64_t> labels, std::span<const int64_t>) {
    return nn::cross_entropy(net(x), labels);
  }
};

/// Embedding ids (a static buffer) into a two-layer LSTM and a GRU.
struct RecurrentModel {
  static constexpr DType kDType = DType::f64;
  nn::Embedding embedding;
  nn::LSTM lstm;
  nn::GRU gru;
  explicit RecurrentModel(std::mt19937_64& rng)
      : embedding(10, 5, rng),
        lstm(5, 6, rng, {.num_layers = 2, .batch_first = true}),
        gru(6, 4, rng, {.num_layers = 1, .batch_first = true}) {}
  std::vector<Tensor> parameters() const {
    std::vector<Tensor> all;
    for (const nn::Module* m : {static_cast<const nn::Module*>(&embedding), static_cast<const nn::Module*>(&lstm),
                                static_cast<const nn::Module*>(&gru)})
      for (const Tensor& p : m->parameters()) all.push_back(p);
    return all;
  }
  std::vector<Tensor> buffers() const { return {}; }
  Tensor loss(const Tensor&, std::span<const int64_t>, std::span<const int64_t> ids) {
    const Tensor e = embedding(ids, Shape{2, 3});
    const nn::RecurrentOutput r = lstm(e);
    const nn::RecurrentOutput q = gru(r.output);
    return sum(q.output * q.output) + sum(r.c * r.c);
  }
};

/// Two identical models: one records every step afresh, the other records once and replays, on
/// new inputs, labels and ids written in place, with SGD between steps; every loss, gradient and
/// buffer must agree exactly.
template <class Model>
void check_model_replay(const Shape& x_shape, int steps) {
  struct Side {
    std::mt19937_64 init{21};
    Model model{init};
    Tensor x;
    std::vector<int64_t> labels, ids;
    std::mt19937_64 data{23};
    explicit Side(const Shape& shape) : x(Array(shape, Model::kDType)), labels(size_t(shape[0])), ids(6) { refill(); }
    void refill() {
      std::normal_distribution<double> normal;
      Array& v = x.mutable_value();
      for (int64_t i = 0; i < v.numel(); ++i) v.set(i, normal(data));
      for (int64_t& label : labels) label = static_cast<int64_t>(data() % 3);
      for (int64_t& id : ids) id = static_cast<int64_t>(data() % 10);
    }
    std::vector<std::vector<double>> state() const {
      std::vector<std::vector<double>> all;
      for (const Tensor& p : model.parameters()) all.push_back(p.grad().to_vector());
      for (const Tensor& b : model.buffers()) all.push_back(b.value().to_vector());
      return all;
    }
  };
  Side fresh(x_shape), replayed(x_shape);
  nn::optim::SGD fresh_opt(fresh.model.parameters(), {.lr = 0.05});
  nn::optim::SGD replayed_opt(replayed.model.parameters(), {.lr = 0.05});
  Tape replay_tape;
  const Tensor replay_loss = replayed.model.loss(replayed.x, replayed.labels, replayed.ids);
  for (int step = 0; step < steps; ++step) {
    CAPTURE(step);
    if (step > 0) {
      replayed.refill();
      replayed_opt.zero_grad();
      replay_tape.replay();
    }
    replay_loss.backward();
    const double replay_value = replay_loss.item();
    const auto replay_state = replayed.state();
    replayed_opt.step();
    Tape tape;
    if (step > 0) fresh.refill();
    fresh_opt.zero_grad();
    const Tensor loss = fresh.model.loss(fresh.x, fresh.labels, fresh.ids);
    loss.backward();
    CHECK(replay_value == loss.item());
    CHECK(replay_state == fresh.state());
    fresh_opt.step();
  }
}
/// replay() must throw TapeError with every part in its message.
void check_refused(Tape& tape, std::initializer_list<const char*> parts) {
  try {
    tape.replay();
    FAIL("replay did not refuse");
  } catch (const TapeError& e) {
    for (const char* part : parts) CHECK(test::contains(e.what(), part));
  }
}

}  // namespace

TEST_SUITE("replay") {
  TEST_CASE("an MLP step replayed equals the step recorded afresh, bit for bit, over new batches and updates") {
    check_model_replay<MlpModel<DType::f64, false>>(Shape{5, 7}, 4);
    check_model_replay<MlpModel<DType::f32, false>>(Shape{5, 7}, 4);
  }

  TEST_CASE("with batch norm and dropout: fresh masks and running statistics on replay, as a fresh recording's") {
    check_model_replay<MlpModel<DType::f64, true>>(Shape{5, 7}, 4);
    check_model_replay<MlpModel<DType::f32, true>>(Shape{5, 7}, 4);
  }

  TEST_CASE("every convolutional layer replayed equals fresh recordings (conv, batch norm 2d, pooling, Dropout2d)") {
    check_model_replay<CnnModel>(Shape{4, 2, 8, 8}, 3);
  }

  TEST_CASE("Embedding (ids in a static buffer), LSTM and GRU replayed equal fresh recordings") {
    check_model_replay<RecurrentModel>(Shape{2, 1}, 3);
  }

  TEST_CASE("Embedding of a tensor of ids converts them between ops: replay refuses it, naming it") {
    Tape tape;
    std::mt19937_64 rng(1);
    nn::Embedding embedding(10, 3, rng);
    const Tensor ids(Array({2}, {1, 4}));
    const Tensor y = sum(embedding(ids));
    check_refused(tape, {"Embedding::forward"});
  }

  TEST_CASE("replay reads the leaves' new values: a changed input changes the loss") {
    Tape tape;
    Tensor x(Array({3}, {1, 2, 3}));
    Tensor w(Array({3}, {0.5, -1, 2}), true);
    const Tensor y = sum(square(x * w));
    y.backward();
    CHECK(y.item() == doctest::Approx(0.25 + 4 + 36));
    x.mutable_value().set(1, 0.0);
    w.zero_grad();
    tape.replay();
    CHECK(y.item() == doctest::Approx(0.25 + 0 + 36));
    y.backward();  // as after a fresh recording: the gradient is 2 x^2 w
    const std::vector<double> want = {2 * 1 * 0.5, 0.0, 2 * 9 * 2.0};
    CHECK(w.grad().to_vector() == want);
  }

  TEST_CASE("replay refuses a recording that read a value and then recorded more") {
    Tape tape;
    Tensor x(Array({2}, {1, 2}), true);
    const Tensor y = x * 2.0;
    const double branch = y.value().at(0);  // a C++ branch could depend on this
    const Tensor z = branch > 0 ? sum(y) : sum(-y);
    check_refused(tape, {"value"});
    // A read after the last op is harmless: logging the loss, then replaying.
    Tape logging;
    const Tensor loss = sum(x * 3.0);
    (void)loss.item();
    CHECK_NOTHROW(logging.replay());
  }

  TEST_CASE("replay refuses an op without a forward closure, naming it") {
    Tape tape;
    Tensor x(Array({2}, {1, 2}), true);
    OpRecord op("my_op_without_forward", {&x});
    Array& y = op.output(Shape{2}, DType::f64);
    y.assign(op.in(0));
    const Tensor out = op.finish([](BackwardContext& c) { c.accumulate(0, c.grad_output()); });
    check_refused(tape, {"my_op_without_forward"});
  }

  TEST_CASE("replay refuses a leaf whose shape changed, with both shapes") {
    Tape tape;
    Tensor x(Array({2, 3}, DType::f64));
    const Tensor y = sum(exp(x));
    x.mutable_value() = Array(Shape{3, 2}, DType::f64);
    check_refused(tape, {"[2, 3]", "[3, 2]"});
  }

  TEST_CASE("replay refuses scalar statements, and a replayed recording keeps gradients from accumulating twice") {
    {
      Tape tape;
      Var a(2.0);
      const Var b = a * a;
      (void)b;
      CHECK_THROWS_AS(tape.replay(), TapeError);
    }
    Tape tape;
    Tensor w(Array({2}, {1, 2}), true);
    const Tensor y = sum(w * w);
    for (int i = 0; i < 3; ++i) {
      w.zero_grad();
      tape.replay();
      y.backward();
      CHECK(w.grad().to_vector() == std::vector<double>{2, 4});
    }
  }
}
