#include "nn/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <new>
#include <vector>

#include "autodiff/error.hpp"

namespace tapegrad::nn {

namespace {

[[noreturn]] void fail(const char* what, const std::string& path, int err) {
  raise<Error>("{} '{}': {}", what, path, std::strerror(err));
}

/// Writes all bytes, retrying short writes and EINTR; a failure names the path and the cause.
void write_all(int fd, std::string_view bytes, const std::string& path) {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write", path, n < 0 ? errno : ENOSPC);
    done += static_cast<size_t>(n);
  }
}

/// Closes a descriptor on scope exit and removes the temporary file unless committed.
struct TempFile {
  int fd = -1;
  std::string path;
  bool committed = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!committed && !path.empty()) ::unlink(path.c_str());
  }
};

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  if (target.filename().empty()) raise<Error>("cannot write '{}': not a file name", path);
  std::error_code ec;
  if (fs::is_directory(target, ec)) raise<Error>("cannot write '{}': it is a directory", path);
  if (fs::exists(target, ec) && !fs::is_regular_file(target, ec)) {
    // A device or pipe (e.g. /dev/full) cannot be replaced by rename: write it in place, checked.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open", path, errno);
    TempFile guard{fd, "", true};
    write_all(fd, bytes, path);
    return;
  }
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string pattern = (dir / fmt::format(".{}.tmp.XXXXXX", target.filename().string())).string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  TempFile tmp;
  tmp.fd = ::mkstemp(name.data());
  if (tmp.fd < 0) fail("cannot create a temporary file in the directory of", path, errno);
  tmp.path = name.data();
  ::fchmod(tmp.fd, 0644);
  write_all(tmp.fd, bytes, path);
  if (::fsync(tmp.fd) != 0) fail("cannot flush", path, errno);
  const int fd = tmp.fd;
  tmp.fd = -1;
  if (::close(fd) != 0) fail("cannot close", path, errno);
  if (::rename(tmp.path.c_str(), path.c_str()) != 0) fail("cannot replace", path, errno);
  tmp.committed = true;
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // make the rename durable
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string read_file(const std::string& path, const char* who, uint64_t max_stream_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) raise<ValueError>("{}: cannot read '{}': it is a directory", who, path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) raise<ValueError>("{}: cannot open '{}': {}", who, path, std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) raise<ValueError>("{}: cannot read '{}': {}", who, path, std::strerror(errno));
  // A regular file is read to its size; a device or pipe (/dev/zero, a FIFO) up to max_stream_bytes,
  // so that no input can make the reader grow without bound.
  const bool regular = S_ISREG(st.st_mode);
  const uint64_t limit = regular ? static_cast<uint64_t>(st.st_size) : max_stream_bytes;
  std::string bytes;
  try {
    bytes.resize(static_cast<size_t>(regular ? limit : std::min<uint64_t>(limit, 1 << 16)));
  } catch (const std::bad_alloc&) {
    raise<ValueError>("{}: cannot read '{}': its {} bytes do not fit in memory", who, path, limit);
  }
  size_t done = 0;
  for (;;) {
    if (done == bytes.size()) {
      if (regular || done >= limit) {
        char probe;  // one byte more: a file that grew, or a stream past the limit
        const ssize_t extra = ::read(fd, &probe, 1);
        if (extra == 0) break;
        if (extra < 0 && errno == EINTR) continue;
        if (extra < 0) raise<ValueError>("{}: cannot read '{}': {}", who, path, std::strerror(errno));
        if (regular) raise<ValueError>("{}: '{}' grew while it was read", who, path);
        raise<ValueError>("{}: '{}' is not a regular file and gives more than {} bytes", who, path, limit);
      }
      try {
        bytes.resize(std::min<uint64_t>(bytes.size() * 2, limit));
      } catch (const std::bad_alloc&) {
        raise<ValueError>("{}: cannot read '{}': more than {} bytes do not fit in memory", who, path, done);
      }
    }
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) raise<ValueError>("{}: cannot read '{}': {}", who, path, std::strerror(errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);  // a regular file that shrank while it was read: what it holds now
  return bytes;
}

}  // namespace tapegrad::nn
