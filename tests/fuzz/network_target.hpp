#pragma once
// The fuzz target's body, shared by the libFuzzer binary (fuzz_network.cpp, clang) and the
// mutation test that runs everywhere (test_network_json.cpp): arbitrary bytes either load as a
// valid network or raise tapegrad::ValueError; anything else (a crash, another exception, a
// sanitizer report) is a bug.
#include <string_view>

#include "autodiff/error.hpp"
#include "nn/seed/network_json.hpp"

namespace test {

inline void load_arbitrary_bytes(std::string_view bytes) {
  try {
    const tapegrad::nn::Network net = tapegrad::nn::network_from_json(bytes);
    (void)tapegrad::nn::to_json(net);  // a loaded network can always be saved again
  } catch (const tapegrad::ValueError&) {
  }
}

}  // namespace test
