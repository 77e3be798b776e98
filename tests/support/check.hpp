#pragma once
// Small test helpers: the message of an expected exception, and substring checks on it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "autodiff/gradcheck.hpp"
#include "autodiff/tensor.hpp"

namespace test {

/// Runs f, which must throw E; returns the message ("" and a failed check if it did not).
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("threw the wrong exception type: " << e.what());
    return {};
  }
  FAIL_CHECK("did not throw");
  return {};
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

/// Standard normal values of the given shape, drawn from a generator seeded with `seed`.
inline tapegrad::Array random_array(const tapegrad::Shape& shape, uint64_t seed,
                                    tapegrad::DType dtype = tapegrad::DType::f64) {
  std::mt19937_64 rng(seed);
  return tapegrad::Tensor::randn(shape, rng, dtype).value();
}

/// CHECK a gradcheck result, printing its message on failure.
#define CHECK_GRADCHECK(result_expr)                  \
  do {                                                \
    const auto gc_result_ = (result_expr);            \
    CHECK_MESSAGE(gc_result_.ok, gc_result_.message); \
  } while (0)

/// A twin test's minibatch: `rows` examples of standard normal values (rows x per_row) and labels in
/// [0, classes), drawn from rng.
struct RandomBatch {
  std::vector<double> x;
  std::vector<int64_t> labels;
  RandomBatch(int64_t rows, int64_t per_row, int64_t classes, std::mt19937_64& rng)
      : x(static_cast<size_t>(rows * per_row)), labels(static_cast<size_t>(rows)) {
    std::normal_distribution<double> normal;
    for (double& v : x) v = normal(rng);
    for (auto& c : labels) c = static_cast<int64_t>(rng() % static_cast<uint64_t>(classes));
  }
};

/// The largest |a - b| / max(1, |b|) between a tape array and a twin's values (same count).
inline double max_relative_gap(const tapegrad::Array& tape, const std::vector<double>& twin) {
  REQUIRE(tape.numel() == static_cast<int64_t>(twin.size()));
  double worst = 0;
  for (size_t i = 0; i < twin.size(); ++i) {
    const double a = tape.at(static_cast<int64_t>(i)), b = twin[i];
    worst = std::max(worst, std::abs(a - b) / std::max(1.0, std::abs(b)));
  }
  return worst;
}

}  // namespace test
