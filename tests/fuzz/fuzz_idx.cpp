// libFuzzer target for the idx loader (clang only: -DTAPEGRAD_BUILD_FUZZERS=ON with
// CXX=clang++). Run: ./build/<preset>/tests/fuzz_idx -max_total_time=60 tests/fuzz/corpus/idx
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (test::load_idx_bytes(std::string_view(reinterpret_cast<const char*>(data), size)) == test::Outcome::broken)
    std::abort();
  return 0;
}
