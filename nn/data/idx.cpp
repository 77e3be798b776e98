#include "nn/data/idx.hpp"

#include <fmt/ranges.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string_view>

#include "autodiff/error.hpp"

namespace tapegrad::nn {

namespace {
constexpr int kMaxDims = 4;
constexpr uint64_t kMaxBytes = uint64_t{1} << 34;  // 16 GiB: far beyond any IDX data set

struct GzClose {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

/// The header at the start of `bytes`, validated: its size, the dimensions and the data bytes they
/// declare. ValueError naming the file for a short or malformed header.
struct Header {
  size_t size = 0;
  std::vector<int64_t> dims;
  uint64_t data_bytes = 1;
};

Header parse_header(std::string_view bytes, const std::string& name) {
  auto bad = [&](const std::string& why) -> void { raise<ValueError>("IDX file '{}': {}", name, why); };
  if (bytes.size() < 4) bad(fmt::format("too short for a header ({} bytes)", bytes.size()));
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  if (byte(0) != 0 || byte(1) != 0)
    bad(fmt::format("wrong magic number 0x{:02x}{:02x}{:02x}{:02x} (expected 0x0000TTNN)", byte(0), byte(1), byte(2),
                    byte(3)));
  if (byte(2) != 0x08) bad(fmt::format("data type 0x{:02x} is not supported (only unsigned bytes, 0x08)", byte(2)));
  const int ndims = byte(3);
  if (ndims < 1 || ndims > kMaxDims) bad(fmt::format("{} dimensions (expected 1 to {})", ndims, kMaxDims));
  Header h;
  h.size = 4 + 4 * static_cast<size_t>(ndims);
  if (bytes.size() < h.size)
    bad(fmt::format("truncated header: {} bytes, the dimensions need {}", bytes.size(), h.size));
  for (int d = 0; d < ndims; ++d) {
    const size_t at = 4 + 4 * static_cast<size_t>(d);
    const uint64_t n = (uint64_t{byte(at)} << 24) | (uint64_t{byte(at + 1)} << 16) | (uint64_t{byte(at + 2)} << 8) |
                       uint64_t{byte(at + 3)};
    h.dims.push_back(static_cast<int64_t>(n));
    h.data_bytes *= n;  // at most 4 factors below 2^32 each, checked after every one
    if (h.data_bytes > kMaxBytes) bad("the dimensions claim more than 16 GiB");
  }
  return h;
}

/// Appends up to n more bytes of the (possibly gzip-compressed) file to `bytes`: the buffer grows
/// with the data actually present, never beyond what was asked for.
void read_at_most(gzFile_s* file, uint64_t n, std::string& bytes, const std::string& path) {
  char chunk[1 << 16];
  while (n > 0) {
    const int got = gzread(file, chunk, static_cast<unsigned>(std::min<uint64_t>(n, sizeof(chunk))));
    if (got < 0) {
      int err = 0;
      const char* msg = gzerror(file, &err);
      raise<ValueError>("IDX file '{}': cannot decompress: {}", path, msg ? msg : "error");
    }
    if (got == 0) return;
    bytes.append(chunk, static_cast<size_t>(got));
    n -= static_cast<uint64_t>(got);
  }
}

}  // namespace

IdxData parse_idx(const std::string& bytes, const std::string& name) {
  Header h = parse_header(bytes, name);
  const uint64_t have = bytes.size() - h.size;
  if (have < h.data_bytes)
    raise<ValueError>("IDX file '{}': the dimensions {} need {} data bytes but the file has {} (truncated)", name,
                      fmt::join(h.dims, "x"), h.data_bytes, have);
  if (have > h.data_bytes)
    raise<ValueError>("IDX file '{}': the dimensions {} need {} data bytes but the file has more (trailing data)", name,
                      fmt::join(h.dims, "x"), h.data_bytes);
  IdxData out;
  out.dims = std::move(h.dims);
  out.bytes.assign(bytes.begin() + static_cast<std::ptrdiff_t>(h.size), bytes.end());
  return out;
}

IdxData read_idx(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) raise<ValueError>("IDX file '{}' does not exist", path);
  if (std::filesystem::is_directory(path, ec)) raise<ValueError>("IDX file '{}' is a directory", path);
  std::unique_ptr<gzFile_s, GzClose> file(gzopen(path.c_str(), "rb"));
  if (!file) raise<ValueError>("IDX file '{}' cannot be opened", path);
  // The header first, then the data it declares and one byte more (trailing data is refused): a
  // small compressed file cannot make the reader inflate gigabytes (a gzip bomb).
  std::string bytes;
  read_at_most(file.get(), 4, bytes, path);
  if (bytes.size() == 4)
    read_at_most(file.get(), 4 * std::min<uint64_t>(static_cast<uint8_t>(bytes[3]), kMaxDims), bytes, path);
  const Header h = parse_header(bytes, path);
  read_at_most(file.get(), h.data_bytes + 1, bytes, path);
  return parse_idx(bytes, path);
}

}  // namespace tapegrad::nn
