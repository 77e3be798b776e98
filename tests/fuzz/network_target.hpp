#pragma once
// The fuzz target's body, shared by the libFuzzer binary (fuzz_network.cpp, clang) and the
// mutation test that runs everywhere (test_network_json.cpp). Arbitrary bytes must either load as a
// network that saves and reloads to the same text, or be refused with the loader's ValueError whose
// message says where it comes from. Anything else (a crash, another exception, a sanitizer report,
// a network that does not round-trip) is a bug.
#include <string>
#include <string_view>

#include "autodiff/error.hpp"
#include "nn/seed/network_json.hpp"

namespace test {

enum class Outcome { loaded, refused, broken };

inline Outcome load_arbitrary_bytes(std::string_view bytes, std::string* problem = nullptr) {
  std::string saved;
  try {
    saved = tapegrad::nn::to_json(tapegrad::nn::network_from_json(bytes));
  } catch (const tapegrad::ValueError& e) {
    const std::string_view message = e.what();
    if (message.starts_with("network JSON: ") || message.starts_with("network: ")) return Outcome::refused;
    if (problem) *problem = "unlocated error: " + std::string(message);
    return Outcome::broken;
  }
  if (tapegrad::nn::to_json(tapegrad::nn::network_from_json(saved)) != saved) {
    if (problem) *problem = "does not round-trip: " + saved;
    return Outcome::broken;
  }
  return Outcome::loaded;
}

}  // namespace test
