#include "nn/io/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
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

/// This host's name as it appears in temporary file names (no '.' or '/'): with the pid it says
/// which process wrote a temporary, so a later save on the same host can tell one left by a killed
/// writer from one being written right now.
std::string writer_host() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || !host[0]) std::strcpy(host, "localhost");
  for (char* c = host; *c; ++c)
    if (*c == '.' || *c == '/') *c = '_';
  return host;
}

/// Removes the temporary files of `name` in `dir` that a writer on this host left when it was killed
/// (its process no longer exists). Best effort: a file that cannot be removed stays.
void remove_stale_temporaries(const std::filesystem::path& dir, const std::string& name, const std::string& host) {
  namespace fs = std::filesystem;
  const std::string prefix = fmt::format(".{}.tmp.{}.", name, host);
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    if (entry.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(entry.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) ::unlink(it->path().c_str());
  }
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path target(path);
  if (target.filename().empty()) raise<Error>("cannot write '{}': not a file name", path);
  // A symlink stays a symlink: the file it points to is replaced (a chain or loop of links resolved
  // by the system, which refuses a loop).
  if (fs::is_symlink(fs::symlink_status(target, ec))) {
    const fs::path resolved = fs::weakly_canonical(target, ec);
    if (ec) raise<Error>("cannot write '{}': cannot resolve the link: {}", path, ec.message());
    target = resolved;
  }
  if (fs::is_directory(target, ec)) raise<Error>("cannot write '{}': it is a directory", path);
  struct stat existing {};
  const bool exists = ::stat(target.c_str(), &existing) == 0;
  if (exists && !S_ISREG(existing.st_mode)) {
    // A device or pipe (e.g. /dev/full) cannot be replaced by rename: write it in place, checked.
    const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open", path, errno);
    TempFile guard{fd, "", true};
    write_all(fd, bytes, path);
    return;
  }
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string name = target.filename().string();
  const std::string host = writer_host();
  remove_stale_temporaries(dir, name, host);
  const std::string pattern = (dir / fmt::format(".{}.tmp.{}.{}.XXXXXX", name, host, ::getpid())).string();
  std::vector<char> temp_name(pattern.begin(), pattern.end());
  temp_name.push_back('\0');
  TempFile tmp;
  tmp.fd = ::mkstemp(temp_name.data());
  if (tmp.fd < 0) fail("cannot create a temporary file in the directory of", path, errno);
  tmp.path = temp_name.data();
  // The replaced file's permissions are kept; a new file gets 0644.
  if (::fchmod(tmp.fd, exists ? existing.st_mode & 07777 : 0644) != 0) fail("cannot set the mode of", path, errno);
  write_all(tmp.fd, bytes, path);
  if (::fsync(tmp.fd) != 0) fail("cannot flush", path, errno);
  const int fd = tmp.fd;
  tmp.fd = -1;
  if (::close(fd) != 0) fail("cannot close", path, errno);
  if (::rename(tmp.path.c_str(), target.c_str()) != 0) fail("cannot replace", path, errno);
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
