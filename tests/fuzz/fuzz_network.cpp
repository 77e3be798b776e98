// libFuzzer target for the network loader (clang only: -DTAPEGRAD_BUILD_FUZZERS=ON with
// CXX=clang++). Run: ./build/<preset>/tests/fuzz_network -max_total_time=60 tests/fuzz/corpus
#include <cstddef>
#include <cstdint>

#include "fuzz/network_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  test::load_arbitrary_bytes(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
