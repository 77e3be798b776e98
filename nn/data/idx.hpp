#pragma once
/// \file
/// The IDX format of MNIST and Fashion-MNIST (gzip-compressed or plain; zlib reads both): a magic
/// number 0x0000TTNN (type TT, NN dimensions), NN big-endian u32 dimensions, then the data. Only
/// unsigned bytes (type 0x08) are supported, as the image and label files use.
#include <cstdint>
#include <string>
#include <vector>

namespace tapegrad::nn {

/// An IDX file's contents (the MNIST format): its dimensions and its unsigned bytes.
struct IdxData {
  std::vector<int64_t> dims;   ///< the dimensions, outermost first
  std::vector<uint8_t> bytes;  ///< row-major, product(dims) of them
};

/// ValueError naming the file and what is wrong: missing, wrong magic, unsupported type, a size
/// that does not match the dimensions (truncated or trailing data).
IdxData read_idx(const std::string& path);

/// Parses IDX bytes already in memory (uncompressed); `name` is used in messages.
IdxData parse_idx(const std::string& bytes, const std::string& name);

}  // namespace tapegrad::nn
