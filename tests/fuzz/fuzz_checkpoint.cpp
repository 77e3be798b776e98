// libFuzzer target for the checkpoint loader (clang only: -DTAPEGRAD_BUILD_FUZZERS=ON with
// CXX=clang++). Run: ./build/<preset>/tests/fuzz_checkpoint -max_total_time=60 tests/fuzz/corpus/checkpoint
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  // As given (almost always a checksum mismatch), then with the checksum made valid.
  if (test::load_checkpoint_bytes(bytes) == test::Outcome::broken ||
      test::load_checkpoint_bytes(test::with_valid_checksum(bytes)) == test::Outcome::broken)
    std::abort();
  return 0;
}
