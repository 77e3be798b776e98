// libFuzzer target for the network loader (clang only: -DTAPEGRAD_BUILD_FUZZERS=ON with
// CXX=clang++). Run: ./build/<preset>/tests/fuzz_network -max_total_time=60 -max_len=1000000 tests/fuzz/corpus/network
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (test::load_network_bytes(std::string_view(reinterpret_cast<const char*>(data), size)) == test::Outcome::broken)
    std::abort();
  return 0;
}
