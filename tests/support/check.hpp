#pragma once
// Small test helpers: the message of an expected exception, and substring checks on it.
#include <doctest/doctest.h>

#include <random>
#include <string>

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

}  // namespace test
