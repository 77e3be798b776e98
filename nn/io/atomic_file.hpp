#pragma once
/// \file
/// Writing a file so that a reader sees the old contents or the new, never a mix: the bytes go to a
/// temporary file in the same directory, every write is checked, the file is fsync'ed and renamed
/// over the target, and the directory is fsync'ed. A full disk or an I/O error raises
/// tapegrad::Error naming the path and the cause, and leaves the old file as it was.
#include <cstdint>
#include <string>
#include <string_view>

namespace tapegrad::nn {

/// Writes `bytes` to `path` so that a reader sees the old file or the whole new one, never a part:
/// a temporary file beside it, flushed and synced, then renamed over it; every write checked.
void write_file_atomically(const std::string& path, std::string_view bytes);

/// The most read_file takes, by default, from a file that is not a regular file (a device, a pipe).
inline constexpr uint64_t kMaxStreamBytes = uint64_t{1} << 30;

/// The whole file, every read checked. A file that is missing, a directory or unreadable is bad
/// input: ValueError "<who>: cannot open '<path>': <reason>"; so is one that does not fit in memory,
/// and a device or pipe that gives more than `max_stream_bytes` (`/dev/zero`).
std::string read_file(const std::string& path, const char* who, uint64_t max_stream_bytes = kMaxStreamBytes);

}  // namespace tapegrad::nn
