#include "common/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>

namespace pgk::fs {

namespace {

Status Errno(const std::string& what, const std::filesystem::path& path, int err) {
  std::string hint;
  if (err == EACCES || err == EPERM) hint = "check the permissions of " + path.string();
  if (err == ENOSPC) hint = "free some space on the file system that holds " + path.string();
  if (err == EROFS) hint = path.string() + " is on a read-only file system";
  return Status::IO(what + " " + path.string() + ": " + std::strerror(err), hint);
}

Status WriteAll(int fd, std::string_view data, const std::filesystem::path& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", path, errno);
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status FsyncDir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync directory", dir, err);
  return Status::Ok();
}

Status WriteFile(const std::filesystem::path& path, std::string_view data, WriteOptions options) {
  std::filesystem::path target = path;
  std::filesystem::path tmp = options.atomic ? std::filesystem::path(path.string() + ".tmp." + std::to_string(::getpid())) : path;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, options.mode);
  if (fd < 0) return Errno("cannot create", tmp, errno);
  // O_CREAT's mode only applies to new files; an existing file keeps its mode otherwise.
  ::fchmod(fd, options.mode);
  Status s = WriteAll(fd, data, tmp);
  if (s.ok() && options.sync && ::fsync(fd) != 0) s = Errno("cannot fsync", tmp, errno);
  ::close(fd);
  if (!s.ok()) {
    if (options.atomic) ::unlink(tmp.c_str());
    return s;
  }
  if (options.atomic) {
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Errno("cannot rename into", target, err);
    }
    if (options.sync) {
      auto parent = target.parent_path();
      PGK_RETURN_IF_ERROR(FsyncDir(parent.empty() ? "." : parent));
    }
  }
  return Status::Ok();
}

Result<std::string> ReadFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("file not found: " + path.string());
    return Errno("cannot open", path, err);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Errno("cannot read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status MakeDirs(const std::filesystem::path& path, mode_t mode) {
  std::filesystem::path current;
  for (const auto& part : path) {
    current /= part;
    if (current.empty() || current == "/") continue;
    if (::mkdir(current.c_str(), mode) != 0 && errno != EEXIST) return Errno("cannot create directory", current, errno);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::IO("not a directory: " + path.string());
  }
  return Status::Ok();
}

Status RemoveAll(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Status::IO("cannot remove " + path.string() + ": " + ec.message());
  return Status::Ok();
}

Result<TempDir> TempDir::Create(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return Errno("cannot create temporary directory", templ, errno);
  return TempDir(std::filesystem::path(templ));
}

TempDir::~TempDir() {
  if (!path_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

}  // namespace pgk::fs
