// The layers API on a small synthetic problem: the README's "Layers" block, run by the test suite.
#include <autodiff/autodiff.hpp>
#include <cstdio>
#include <filesystem>
#include <nn/nn.hpp>

int main() {
  using namespace tapegrad;
  std::mt19937_64 rng(42);
  // 64 examples of 784 features; the class is which of 10 feature blocks has the largest sum.
  Tensor x = Tensor::randn({64, 784}, rng, DType::f32);
  std::vector<int64_t> labels(64);
  for (int64_t i = 0; i < 64; ++i) {
    double best = -1e9;
    for (int64_t c = 0; c < 10; ++c) {
      double s = 0;
      for (int64_t j = 0; j < 78; ++j) s += x.value().at(i * 784 + c * 78 + j);
      if (s > best) best = s, labels[size_t(i)] = c;
    }
  }

  nn::Sequential model{nn::Linear(784, 256, rng), nn::BatchNorm1d(256), nn::ReLU(), nn::Dropout(0.2),
                       nn::Linear(256, 10, rng)};
  model.to(DType::f32);  // parameters and buffers
  nn::optim::Adam opt(model.parameters(), {.lr = 1e-3});
  Tape tape;
  double first = 0, last = 0;
  for (int step = 0; step < 50; ++step) {
    model.train();
    tape.clear();
    opt.zero_grad();
    Tensor logits = model(x);                         // x: Tensor [batch, 784], float32
    Tensor loss = nn::cross_entropy(logits, labels);  // labels: std::span<const int64_t>; mean
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  model.eval();
  for (const auto& [name, p] : model.named_parameters()) std::printf("%s %s\n", name.c_str(), p.shape().str().c_str());
  const std::string path = (std::filesystem::temp_directory_path() / "tapegrad-mlp-example.tgc").string();
  nn::save_checkpoint(path, model, opt);
  nn::load_checkpoint(path, model, opt);
  std::filesystem::remove(path);
  std::printf("loss %.4f -> %.4f\n", first, last);
  return last < 0.5 * first ? 0 : 1;  // it must learn
}
