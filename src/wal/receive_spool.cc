#include "wal/receive_spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/fs.h"
#include "wal/spool_internal.h"

namespace pgk::wal {

namespace {

constexpr char kLockName[] = "wal-receive.lock";
constexpr char kPartialSuffix[] = ".partial";

Status Errno(const std::string& what, const std::filesystem::path& path) {
  int e = errno;
  std::string hint;
  if (e == ENOSPC) hint = "free space on the file system holding the spool; the server keeps the WAL meanwhile (slot)";
  return Status::IO(what + " " + path.string() + ": " + std::strerror(e), hint);
}

std::vector<std::string> Names(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) out.push_back(e.path().filename().string());
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<ReceiveSpool>> ReceiveSpool::Open(const std::filesystem::path& spool,
                                                         const std::string& repo_url) {
  PGK_RETURN_IF_ERROR(fs::MakeDirs(spool, 0700));
  auto lock_path = spool / kLockName;
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot open", lock_path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Status::Refused("another wal-receive (pid " + pid + ") is using the spool " + spool.string(),
                           "run one receiver per spool: stop that one first, or give this one another --spool");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    Status s = Errno("cannot write", lock_path);
    ::close(fd);
    return s;
  }
  auto dir = internal::SpoolSubdir(spool, "receive", repo_url);
  if (!dir.ok()) {
    ::close(fd);
    return dir.status();
  }
  std::unique_ptr<ReceiveSpool> s(new ReceiveSpool(*dir, fd));
  PGK_RETURN_IF_ERROR(fs::MakeDirs(s->ready_dir(), 0700));
  // A crash between writing a history file's temporary copy and renaming it leaves the
  // copy behind. With the lock held nobody else writes here, so every ".tmp." file is
  // such debris (the server sends the history again when it is needed).
  for (const auto& n : Names(s->ready_dir())) {
    if (n.find(".tmp.") == std::string::npos) continue;
    std::error_code ec;
    std::filesystem::remove(s->ready_dir() / n, ec);
  }
  return s;
}

ReceiveSpool::~ReceiveSpool() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::vector<WalFile> ReceiveSpool::Partials(uint64_t segment_size) const {
  std::vector<WalFile> out;
  for (const auto& n : Names(dir_)) {
    if (!n.ends_with(kPartialSuffix)) continue;
    auto f = ParseWalFileName(n.substr(0, n.size() - std::strlen(kPartialSuffix)), segment_size);
    if (f.ok() && f->kind == WalFileKind::kSegment) out.push_back(*f);
  }
  std::sort(out.begin(), out.end(), [](const WalFile& a, const WalFile& b) { return a.name < b.name; });
  return out;
}

std::vector<std::string> ReceiveSpool::Ready(uint64_t segment_size) const {
  std::vector<std::string> out;
  for (const auto& n : Names(ready_dir())) {
    if (ParseWalFileName(n, segment_size).ok()) out.push_back(n);  // not temp files
  }
  auto history_first = [](const std::string& a, const std::string& b) {
    bool ha = a.ends_with(".history"), hb = b.ends_with(".history");
    return ha != hb ? ha : a < b;
  };
  std::sort(out.begin(), out.end(), history_first);
  return out;
}

Result<std::unique_ptr<PartialSegment>> PartialSegment::Open(const ReceiveSpool& spool, const WalFile& segment,
                                                             uint64_t segment_size) {
  auto path = spool.PartialPath(segment);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot open", path);
  // A new file's directory entry must be durable before its bytes are reported flushed.
  Status s = fs::FsyncDir(spool.dir());
  if (!s.ok()) {
    ::close(fd);
    return s;
  }
  return std::unique_ptr<PartialSegment>(new PartialSegment(spool, segment, segment_size, fd));
}

PartialSegment::~PartialSegment() {
  if (fd_ >= 0) ::close(fd_);
}

Status PartialSegment::Write(uint64_t offset, std::string_view data) {
  if (offset + data.size() > segment_size_) {
    return Status::Internal("write past the end of segment " + segment_.name);
  }
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", spool_.PartialPath(segment_));
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  dirty_ = true;
  return Status::Ok();
}

Status PartialSegment::Sync() {
  if (!dirty_) return Status::Ok();
  if (::fdatasync(fd_) != 0) return Errno("cannot fsync", spool_.PartialPath(segment_));
  dirty_ = false;
  return Status::Ok();
}

Status PartialSegment::MoveToReady(const std::string& name) {
  dirty_ = true;  // the size may have changed without a write
  PGK_RETURN_IF_ERROR(Sync());
  ::close(fd_);
  fd_ = -1;
  auto from = spool_.PartialPath(segment_);
  auto to = spool_.ready_dir() / name;
  if (::rename(from.c_str(), to.c_str()) != 0) return Errno("cannot move into", to);
  PGK_RETURN_IF_ERROR(fs::FsyncDir(spool_.ready_dir()));
  return fs::FsyncDir(spool_.dir());
}

Status PartialSegment::Complete() { return MoveToReady(segment_.name); }

Status PartialSegment::EndOfTimeline() {
  if (::ftruncate(fd_, static_cast<off_t>(segment_size_)) != 0)
    return Errno("cannot extend", spool_.PartialPath(segment_));
  return MoveToReady(segment_.name + kPartialSuffix);
}

}  // namespace pgk::wal
