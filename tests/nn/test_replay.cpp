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

/// Every parameter's gradient and every buffer's value of a model.
template <class Model>
std::vector<std::vector<double>> gradients_and_buffers(const Model& model) {
  std::vector<std::vector<double>> all;
  for (const Tensor& p : model.parameters()) all.push_back(p.grad().to_vector());
  for (const Tensor& b : model.buffers()) all.push_back(b.value().to_vector());
  return all;
}

/// Replay against fresh recordings of the same steps: `replayed` records its step once and replays
/// it, `fresh` records every step; both take the same new data in place before each step
/// (Side::next_batch) and an SGD step after it. Every loss, gradient and buffer must agree exactly.
/// A Side has parameters(), record() (records the step's loss), next_batch(bool replaying) and state().
template <class Side>
void compare_with_fresh(Side& fresh, Side& replayed, int steps, double lr) {
  nn::optim::SGD fresh_opt(fresh.parameters(), {.lr = lr});
  nn::optim::SGD replayed_opt(replayed.parameters(), {.lr = lr});
  Tape replay_tape;
  const Tensor replay_loss = replayed.record();
  for (int step = 0; step < steps; ++step) {
    CAPTURE(step);
    if (step > 0) {
      replayed.next_batch(true);
      replayed_opt.zero_grad();
      replay_tape.replay();
    }
    replay_loss.backward();
    const double replay_value = replay_loss.item();
    const auto replay_state = replayed.state();
    replayed_opt.step();
    Tape tape;
    if (step > 0) fresh.next_batch(false);
    fresh_opt.zero_grad();
    const Tensor loss = fresh.record();
    loss.backward();
    CHECK(replay_value == loss.item());
    CHECK(replay_state == fresh.state());
    fresh_opt.step();
  }
}

/// Two identical models, one replayed and one recorded afresh (compare_with_fresh), on new inputs,
/// labels and ids written in place.
template <class Model>
void check_model_replay(const Shape& x_shape, int steps) {
  struct Side {
    std::mt19937_64 init{21};
    Model model{init};
    Tensor x;
    std::vector<int64_t> labels, ids;
    std::mt19937_64 data{23};
    explicit Side(const Shape& shape) : x(Array(shape, Model::kDType)), labels(size_t(shape[0])), ids(6) {
      next_batch(false);
    }
    std::vector<Tensor> parameters() const { return model.parameters(); }
    Tensor record() { return model.loss(x, labels, ids); }
    void next_batch(bool) {
      std::normal_distribution<double> normal;
      Array& v = x.mutable_value();
      for (int64_t i = 0; i < v.numel(); ++i) v.set(i, normal(data));
      for (int64_t& label : labels) label = static_cast<int64_t>(data() % 3);
      for (int64_t& id : ids) id = static_cast<int64_t>(data() % 10);
    }
    std::vector<std::vector<double>> state() const { return gradients_and_buffers(model); }
  };
  Side fresh(x_shape), replayed(x_shape);
  compare_with_fresh(fresh, replayed, steps, 0.05);
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

namespace {

enum class SeedMask { none, drawn, unit_drawn, per_example, set };

/// A seed network of 3 inputs, 4 neurons (tanh, relu with batch norm, sigmoid with batch norm,
/// identity) and 2 outputs, every arrow with keep probability 0.7.
nn::Network seed_network(nn::BatchNormMode mode) {
  nn::Network net;
  for (int i = 0; i < 3; ++i) net.add_input(i);
  net.add_neuron({.id = 3, .activation = nn::Activation::tanh, .beta = 0.1});
  net.add_neuron({.id = 4, .activation = nn::Activation::relu, .batch_norm = true, .gamma = 1.2, .theta = 0.1});
  net.add_neuron({.id = 5, .activation = nn::Activation::sigmoid, .batch_norm = true});
  net.add_neuron({.id = 6, .activation = nn::Activation::identity, .beta = -0.2});
  const int arrows[][2] = {{0, 3}, {1, 3}, {2, 4}, {3, 4}, {0, 5}, {3, 5}, {4, 5}, {4, 6}, {5, 6}, {1, 6}};
  double w = 0.3;
  for (const auto& a : arrows) net.add_arrow({a[0], a[1], w = -w * 1.1, 0.7});
  net.set_outputs(std::vector<int64_t>{5, 6});
  net.batch_norm_mode = mode;
  return net;
}

/// SeedModel: replay against fresh recordings of the same steps (new inputs and targets written in
/// place, SGD between), with its masks drawn, set or absent, for both losses and both batch-norm modes.
void check_seed_replay(nn::BatchNormMode bn, nn::LossKind kind, SeedMask masking, int64_t m, int steps) {
  CAPTURE(static_cast<int>(masking));
  CAPTURE(m);
  struct Side {
    nn::SeedModel model;
    Array x;
    std::vector<double> targets, mask;
    std::mt19937_64 data{31}, masks{37};
    nn::LossKind kind;
    SeedMask masking;
    Side(nn::BatchNormMode bn, nn::LossKind k, SeedMask how, int64_t rows)
        : model(seed_network(bn)),
          x(Shape{rows, 3}),
          targets(size_t(k == nn::LossKind::sse ? 2 * rows : rows)),
          kind(k),
          masking(how) {
      next_batch(false);
    }
    std::vector<Tensor> parameters() const { return model.parameters(); }
    void next_batch(bool replaying) {
      std::normal_distribution<double> normal;
      for (int64_t i = 0; i < x.numel(); ++i) x.set(i, normal(data));
      for (double& t : targets) t = kind == nn::LossKind::sse ? normal(data) : static_cast<double>(data() % 2);
      mask.resize(model.network().edges().size());
      for (double& r : mask) r = static_cast<double>(data() % 4 != 0);
      if (replaying && masking == SeedMask::set) model.set_mask(mask);  // a static buffer: set before replay
      // (a drawn mask is drawn again by the replay itself)
    }
    Tensor record() {  // the mask drawn or set for the recorded pass, then the loss
      const auto rows = static_cast<size_t>(x.shape()[0]);
      if (masking == SeedMask::drawn) model.draw_mask(masks, rows);
      if (masking == SeedMask::unit_drawn) model.draw_unit_mask(masks, rows);
      if (masking == SeedMask::per_example) model.draw_mask(masks, rows, nn::MaskMode::per_example);
      if (masking == SeedMask::set) model.set_mask(mask);
      return model.loss(model.forward(x).z, targets, kind, nn::Reduction::mean);
    }
    std::vector<std::vector<double>> state() const { return gradients_and_buffers(model); }
  };
  Side fresh(bn, kind, masking, m), replayed(bn, kind, masking, m);
  compare_with_fresh(fresh, replayed, steps, 0.1);
}

}  // namespace

TEST_SUITE("replay") {
  TEST_CASE("seed networks replayed equal fresh recordings: DropConnect masks, both batch-norm modes, both losses") {
    for (const auto bn : {nn::BatchNormMode::full, nn::BatchNormMode::seed})
      for (const auto kind : {nn::LossKind::sse, nn::LossKind::cross_entropy})
        for (const auto masking :
             {SeedMask::none, SeedMask::drawn, SeedMask::unit_drawn, SeedMask::per_example, SeedMask::set})
          for (const int64_t m : {int64_t{2}, int64_t{40}})  // one pass per example, and vectorised
            check_seed_replay(bn, kind, masking, m, 4);
  }

  TEST_CASE("seed networks: replay refuses a mask drawn or set since a recording that draws its own, and a new shape") {
    Tape tape;
    nn::SeedModel model(seed_network(nn::BatchNormMode::full));
    std::mt19937_64 rng(3);
    Array x(Shape{4, 3});
    const std::vector<double> targets(8, 0.5);
    model.draw_mask(rng, 4);
    const Tensor loss = model.loss(model.forward(x).z, targets, nn::LossKind::sse);
    CHECK_NOTHROW(tape.replay());
    model.draw_mask(rng, 4);  // replay draws the next mask itself
    check_refused(tape, {"draw_mask"});
    model.set_mask(std::vector<double>(model.network().edges().size(), 1.0));
    check_refused(tape, {"draw_mask"});
    Tape second;
    model.set_mask(std::vector<double>(model.network().edges().size(), 1.0));
    const Tensor loss2 = model.loss(model.forward(x).z, targets, nn::LossKind::sse);
    model.clear_mask();
    CHECK_THROWS_AS(second.replay(), ShapeError);  // the recording's mask had one value per edge
    model.set_mask(std::vector<double>(model.network().edges().size(), 1.0));
    x = Array(Shape{5, 3});
    CHECK_THROWS_AS(second.replay(), ShapeError);  // the input's shape changed
  }
}
