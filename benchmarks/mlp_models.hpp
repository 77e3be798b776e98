#pragma once
// The MLP of the step benchmarks, one spec for every implementation: 784 inputs, depth - 1 hidden
// layers of `width` (Linear, [BatchNorm1d], ReLU, [Dropout 0.2]), a Linear to 10 classes, mean
// softmax cross-entropy, plain SGD (lr 0.01), float32, a fixed random batch.
#include <fmt/format.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace bench {

struct MlpSpec {
  int64_t width = 256;
  int64_t depth = 3;        // Linear layers: 3 is 784-w-w-10
  bool bn_dropout = false;  // batch norm and dropout 0.2 in every hidden layer
  int64_t batch = 32;
  static constexpr int64_t kInputs = 784, kClasses = 10;
  static constexpr double kLr = 0.01, kDropout = 0.2;

  std::string name() const {
    return fmt::format("w{}/d{}/b{}/{}", width, depth, batch, bn_dropout ? "bn_dropout" : "plain");
  }
  /// FLOPs of one step: forward, and backward's two products per layer (none below the first).
  double flops() const {
    double f = 0;
    int64_t in = kInputs;
    for (int64_t l = 0; l < depth; ++l) {
      const int64_t out = l + 1 == depth ? kClasses : width;
      f += 2.0 * batch * in * out * (l == 0 ? 2 : 3);
      in = out;
    }
    return f;
  }
};

/// A fixed batch: standard normal inputs, labels i mod 10.
struct MlpBatch {
  std::vector<float> x;
  std::vector<int64_t> y;
  explicit MlpBatch(int64_t batch) {
    std::mt19937_64 rng(1);
    std::normal_distribution<float> normal;
    x.resize(static_cast<size_t>(batch * MlpSpec::kInputs));
    for (float& v : x) v = normal(rng);
    for (int64_t i = 0; i < batch; ++i) y.push_back(i % MlpSpec::kClasses);
  }
};

}  // namespace bench
