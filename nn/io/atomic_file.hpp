#pragma once
/// \file
/// Writing a file so that a reader sees the old contents or the new, never a mix: the bytes go to a
/// temporary file in the same directory, every write is checked, the file is fsync'ed and renamed
/// over the target, and the directory is fsync'ed. A full disk or an I/O error raises
/// tapegrad::Error naming the path and the cause, and leaves the old file as it was.
#include <string>
#include <string_view>

namespace tapegrad::nn {

/// Writes `bytes` to `path` so that a reader sees the old file or the whole new one, never a part:
/// a temporary file beside it, flushed and synced, then renamed over it; every write checked.
void write_file_atomically(const std::string& path, std::string_view bytes);

/// The whole file. A file that is missing, a directory or unreadable is bad input: ValueError
/// "<who>: cannot open '<path>': <reason>".
std::string read_file(const std::string& path, const char* who);

}  // namespace tapegrad::nn
