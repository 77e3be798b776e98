// A warm training step allocates nothing: tapes and buffers are reused.
#include <doctest/doctest.h>

#include <vector>

#include "autodiff/autodiff.hpp"
#include "nn/nn.hpp"
#include "support/alloc_counter.hpp"

using namespace tapegrad;

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
