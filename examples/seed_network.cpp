// A non-layered seed network (skip connections, an output that feeds another neuron) trained on two
// interleaved spirals with per-connection dropout, seed-mode batch norm and momentum, then checked
// three ways (tape, closed form, finite differences) and saved as JSON and DOT.
//
//   ./build/release/examples/seed_network [out_prefix]   (writes out_prefix.json and out_prefix.dot)
#include <fmt/core.h>

#include <autodiff/autodiff.hpp>
#include <cmath>
#include <fstream>
#include <nn/optim/sgd.hpp>
#include <nn/reference/backprop.hpp>
#include <nn/seed/network_json.hpp>
#include <nn/seed/seed_model.hpp>
#include <numeric>
#include <random>

using namespace tapegrad;
using namespace tapegrad::nn;

namespace {

Network build(std::mt19937_64& rng) {
  std::normal_distribution<double> w(0.0, 0.8);
  Network net;
  net.add_input(0);
  net.add_input(1);
  for (int k = 10; k < 18; ++k) {  // first block: reads both inputs; half batch-normalised
    net.add_neuron({.id = k, .activation = Activation::tanh, .batch_norm = k < 14});
    net.add_arrow({0, k, w(rng), {}});
    net.add_arrow({1, k, w(rng), {}});
  }
  for (int k = 20; k < 28; ++k) {  // second block: four of the first, plus a skip from an input
    net.add_neuron({.id = k, .activation = Activation::tanh});
    for (int j = 0; j < 4; ++j) net.add_arrow({10 + (k + 3 * j) % 8, k, w(rng), {}});
    net.add_arrow({k % 2, k, w(rng), {}});
  }
  net.add_neuron({.id = 30});  // logit of class 0 ...
  net.add_neuron({.id = 31});  // ... which also feeds the logit of class 1
  for (int k = 20; k < 28; ++k) {
    net.add_arrow({k, 30, w(rng), {}});
    net.add_arrow({k, 31, w(rng), {}});
  }
  net.add_arrow({10, 30, w(rng), {}});  // skips over the second block
  net.add_arrow({11, 31, w(rng), {}});
  net.add_arrow({30, 31, 0.5, {}});  // an output feeding another output
  net.set_outputs({30, 31});
  net.default_keep = 0.9;  // DropConnect keep probability p_kl (eq. 10)
  net.batch_norm_mode = BatchNormMode::seed;
  net.finalize();
  return net;
}

double max_relative_gap(const std::vector<double>& a, const std::vector<double>& b) {
  double gap = 0;
  for (size_t i = 0; i < a.size(); ++i) gap = std::max(gap, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
  return gap;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string prefix = argc > 1 ? argv[1] : "seed_network";
  std::mt19937_64 rng(7);

  // Two interleaved spirals.
  const size_t n = 240;
  std::vector<double> xs, labels;
  std::normal_distribution<double> noise(0.0, 0.04);
  for (size_t i = 0; i < n; ++i) {
    const double t = 0.25 + 3.0 * double(i / 2) / double(n / 2), sign = i % 2 ? -1.0 : 1.0;
    xs.push_back(sign * t * std::cos(t) / 3.0 + noise(rng));
    xs.push_back(sign * t * std::sin(t) / 3.0 + noise(rng));
    labels.push_back(double(i % 2));
  }

  Network net = build(rng);
  SeedModel model(net);
  optim::SGD opt(model.parameters(), {.lr = 0.05, .momentum = 0.9});  // eq. 26-27
  const size_t batch = 24;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> bx(batch * 2), by(batch);
  Tape tape;
  fmt::print("training a {}-neuron seed network on {} spiral points (DropConnect p = {}, seed-mode BN, momentum 0.9)\n",
             net.units().size() - net.num_inputs(), n, net.default_keep);
  for (int epoch = 0; epoch <= 300; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double total = 0;
    model.train();
    for (size_t start = 0; start + batch <= n; start += batch) {
      for (size_t i = 0; i < batch; ++i) {
        bx[2 * i] = xs[2 * order[start + i]];
        bx[2 * i + 1] = xs[2 * order[start + i] + 1];
        by[i] = labels[order[start + i]];
      }
      tape.clear();
      opt.zero_grad();
      model.draw_mask(rng, batch);  // one mask per minibatch (eq. 11)
      Tensor loss = model.loss(model.forward(Array(Shape{int64_t(batch), 2}, bx)).z, by, LossKind::cross_entropy,
                               nn::Reduction::mean);
      loss.backward();
      opt.step();
      total += loss.item();
    }
    if (epoch % 50 == 0) {
      tape.clear();
      model.eval();  // running BN statistics, weights scaled by p (eq. 14)
      const Tensor z = model.forward(Array(Shape{int64_t(n), 2}, xs)).z;
      size_t correct = 0;
      for (size_t i = 0; i < n; ++i)
        correct += (z.value().at(int64_t(2 * i + 1)) > z.value().at(int64_t(2 * i))) == (labels[i] == 1.0);
      fmt::print("  epoch {:3d}  mean training loss {:.4f}  eval accuracy {:.1f}%\n", epoch, total / double(n / batch),
                 100.0 * double(correct) / double(n));
    }
  }

  // Gradient check on one minibatch with a fixed mask: tape vs closed form (both modes), and
  // finite differences in full mode (seed-mode BN is not the gradient of any function).
  model.train();
  std::vector<double> mask(net.edges().size());
  for (size_t e = 0; e < mask.size(); ++e) mask[e] = std::bernoulli_distribution(net.edges()[e].keep)(rng);
  model.set_mask(mask);
  Network trained = net;
  trained.set_parameters(model.parameter_values());
  fmt::print("\ngradient check on one minibatch of {}:\n", batch);
  bool ok = true;
  for (BatchNormMode mode : {BatchNormMode::seed, BatchNormMode::full}) {
    trained.batch_norm_mode = mode;
    SeedModel check(trained);
    check.set_mask(mask);
    tape.clear();
    Tensor loss = check.loss(check.forward(Array(Shape{int64_t(batch), 2}, bx)).z, by, LossKind::cross_entropy);
    loss.backward();
    const auto ref = reference::backprop(trained, trained.parameters(), bx, by, batch,
                                         {.loss = LossKind::cross_entropy, .mask = mask});
    const double gap = max_relative_gap(check.w.grad().to_vector(), ref.grad.w);
    fmt::print("  {} mode: tape vs closed form, max relative gap over dL/dw: {:.2e}\n",
               mode == BatchNormMode::seed ? "seed" : "full", gap);
    ok = ok && gap < 1e-10;
    if (mode == BatchNormMode::full) {
      Parameters p = trained.parameters();
      double worst = 0;
      for (size_t e = 0; e < p.w.size(); ++e) {
        const double v = p.w[e], h = 1e-6;
        p.w[e] = v + h;
        const double up =
            reference::backprop(trained, p, bx, by, batch, {.loss = LossKind::cross_entropy, .mask = mask}).loss;
        p.w[e] = v - h;
        const double down =
            reference::backprop(trained, p, bx, by, batch, {.loss = LossKind::cross_entropy, .mask = mask}).loss;
        p.w[e] = v;
        worst = std::max(worst, std::abs((up - down) / (2 * h) - ref.grad.w[e]));
      }
      fmt::print("  full mode: central differences vs closed form, max |diff| over dL/dw: {:.2e}\n", worst);
      ok = ok && worst < 1e-6;
    }
  }

  trained.batch_norm_mode = net.batch_norm_mode;  // the check above switched it; save what was trained
  save_network(trained, prefix + ".json");
  const bool saved_seed_mode = load_network(prefix + ".json").batch_norm_mode == BatchNormMode::seed;
  fmt::print("saved network reloads with mode \"{}\"\n", saved_seed_mode ? "seed" : "full");
  ok = ok && saved_seed_mode;
  std::ofstream(prefix + ".dot") << to_dot(trained);
  fmt::print("\nsaved {0}.json and {0}.dot (render with: dot -Tpng {0}.dot -o {0}.png)\n", prefix);
  return ok ? 0 : 1;
}
