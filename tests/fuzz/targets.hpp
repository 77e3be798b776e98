#pragma once
// The bodies of the fuzz targets, shared by the libFuzzer binaries (fuzz_*.cpp, clang) and the
// mutation tests that run everywhere (test_network_json.cpp, test_io_data.cpp). Arbitrary bytes
// must either load as something that encodes back to an equivalent input, or be refused with the
// loader's ValueError whose message says where it comes from. Anything else (a crash, another
// exception, a sanitizer report, a result that does not round-trip) is a bug: Outcome::broken,
// with `problem` saying what.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

#include "autodiff/error.hpp"
#include "nn/data/idx.hpp"
#include "nn/io/checkpoint.hpp"
#include "nn/seed/network_json.hpp"

namespace test {

enum class Outcome { loaded, refused, broken };

/// A refusal is good when it is the library's ValueError and its message starts with an origin.
template <class Load>
Outcome refused_cleanly_or_loaded(Load&& load, std::initializer_list<std::string_view> origins, std::string* problem) {
  try {
    load();
    return Outcome::loaded;
  } catch (const tapegrad::ValueError& e) {
    for (std::string_view origin : origins)
      if (std::string_view(e.what()).starts_with(origin)) return Outcome::refused;
    if (problem) *problem = "error without its origin: " + std::string(e.what());
    return Outcome::broken;
  }
}

inline Outcome broken(std::string* problem, std::string why) {
  if (problem) *problem = std::move(why);
  return Outcome::broken;
}

/// The bytes with their last four replaced by the CRC32 of the rest, so that mutations reach the
/// entry parser behind the checksum.
inline std::string with_valid_checksum(std::string bytes) {
  if (bytes.size() < 4) return bytes;
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size() - 4)));
  std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);  // little-endian, as the format
  return bytes;
}

/// A checkpoint that loads re-encodes to exactly its bytes (the format has one encoding).
inline Outcome load_checkpoint_bytes(std::string_view bytes, std::string* problem = nullptr) {
  tapegrad::nn::NamedArrays entries;
  const Outcome outcome = refused_cleanly_or_loaded(
      [&] { entries = tapegrad::nn::checkpoint_from_bytes(bytes, "fuzz"); }, {"checkpoint 'fuzz'"}, problem);
  if (outcome == Outcome::loaded && tapegrad::nn::checkpoint_to_bytes(entries) != bytes)
    return broken(problem, "a loaded checkpoint does not re-encode to its bytes");
  return outcome;
}

/// An IDX file that parses has exactly product(dims) data bytes, equal to the input's tail.
inline Outcome load_idx_bytes(std::string_view bytes, std::string* problem = nullptr) {
  tapegrad::nn::IdxData data;
  const Outcome outcome = refused_cleanly_or_loaded([&] { data = tapegrad::nn::parse_idx(std::string(bytes), "fuzz"); },
                                                    {"IDX file 'fuzz'"}, problem);
  if (outcome != Outcome::loaded) return outcome;
  uint64_t count = 1;
  for (int64_t d : data.dims) count *= static_cast<uint64_t>(d);
  const size_t header = 4 + 4 * data.dims.size();
  if (count != data.bytes.size() || header + count != bytes.size() ||
      bytes.substr(header) != std::string_view(reinterpret_cast<const char*>(data.bytes.data()), data.bytes.size()))
    return broken(problem, "parsed IDX data disagrees with its dimensions or bytes");
  return outcome;
}

/// A network that loads saves to text that loads to the same network (same text again).
inline Outcome load_network_bytes(std::string_view bytes, std::string* problem = nullptr) {
  std::string saved;  // "network JSON: ..." from the parser, "network: ..." from the structure checks
  const Outcome outcome =
      refused_cleanly_or_loaded([&] { saved = tapegrad::nn::to_json(tapegrad::nn::network_from_json(bytes)); },
                                {"network JSON: ", "network: "}, problem);
  if (outcome == Outcome::loaded && tapegrad::nn::to_json(tapegrad::nn::network_from_json(saved)) != saved)
    return broken(problem, "does not round-trip: " + saved);
  return outcome;
}

}  // namespace test
