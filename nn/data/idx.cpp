#include "nn/data/idx.hpp"

#include <fmt/ranges.h>
#include <zlib.h>

#include <filesystem>
#include <memory>

#include "autodiff/error.hpp"

namespace tapegrad::nn {

namespace {
constexpr int kMaxDims = 4;
constexpr uint64_t kMaxBytes = uint64_t{1} << 34;  // 16 GiB: far beyond any IDX data set

struct GzClose {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
}  // namespace

IdxData parse_idx(const std::string& bytes, const std::string& name) {
  auto bad = [&](const std::string& why) -> void { raise<ValueError>("IDX file '{}': {}", name, why); };
  if (bytes.size() < 4) bad(fmt::format("too short for a header ({} bytes)", bytes.size()));
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  if (byte(0) != 0 || byte(1) != 0)
    bad(fmt::format("wrong magic number 0x{:02x}{:02x}{:02x}{:02x} (expected 0x0000TTNN)", byte(0), byte(1), byte(2),
                    byte(3)));
  if (byte(2) != 0x08) bad(fmt::format("data type 0x{:02x} is not supported (only unsigned bytes, 0x08)", byte(2)));
  const int ndims = byte(3);
  if (ndims < 1 || ndims > kMaxDims) bad(fmt::format("{} dimensions (expected 1 to {})", ndims, kMaxDims));
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (bytes.size() < header)
    bad(fmt::format("truncated header: {} bytes, the dimensions need {}", bytes.size(), header));
  IdxData out;
  uint64_t total = 1;
  for (int d = 0; d < ndims; ++d) {
    const size_t at = 4 + 4 * static_cast<size_t>(d);
    const uint64_t n = (uint64_t{byte(at)} << 24) | (uint64_t{byte(at + 1)} << 16) | (uint64_t{byte(at + 2)} << 8) |
                       uint64_t{byte(at + 3)};
    out.dims.push_back(static_cast<int64_t>(n));
    total *= n;  // at most 4 factors below 2^32 each, checked after every one
    if (total > kMaxBytes) bad("the dimensions claim more than 16 GiB");
  }
  const uint64_t have = bytes.size() - header;
  if (have != total)
    bad(fmt::format("the dimensions {} need {} data bytes but the file has {} ({})", fmt::join(out.dims, "x"), total,
                    have, have < total ? "truncated" : "trailing data"));
  out.bytes.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return out;
}

IdxData read_idx(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) raise<ValueError>("IDX file '{}' does not exist", path);
  if (std::filesystem::is_directory(path, ec)) raise<ValueError>("IDX file '{}' is a directory", path);
  std::unique_ptr<gzFile_s, GzClose> file(gzopen(path.c_str(), "rb"));
  if (!file) raise<ValueError>("IDX file '{}' cannot be opened", path);
  std::string bytes;
  char chunk[1 << 16];
  for (;;) {  // grows with the data actually present, whatever the header claims
    const int n = gzread(file.get(), chunk, sizeof(chunk));
    if (n < 0) {
      int err = 0;
      const char* msg = gzerror(file.get(), &err);
      raise<ValueError>("IDX file '{}': cannot decompress: {}", path, msg ? msg : "error");
    }
    if (n == 0) break;
    bytes.append(chunk, static_cast<size_t>(n));
    if (bytes.size() > kMaxBytes) raise<ValueError>("IDX file '{}': larger than 16 GiB", path);
  }
  return parse_idx(bytes, path);
}

}  // namespace tapegrad::nn
