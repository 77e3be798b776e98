#include "nn/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
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

std::string read_file(const std::string& path, const char* who) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) raise<ValueError>("{}: cannot read '{}': it is a directory", who, path);
  std::ifstream in(path, std::ios::binary);
  if (!in) raise<ValueError>("{}: cannot open '{}': {}", who, path, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) raise<ValueError>("{}: cannot read '{}'", who, path);
  return std::move(text).str();
}

}  // namespace tapegrad::nn
