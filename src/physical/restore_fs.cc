#include "physical/restore_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>

#include "common/parallel.h"
#include "common/process.h"
#include "physical/file_copy.h"

namespace pgk::physical {

namespace {

constexpr size_t kBuffer = 4 << 20;

Status Errno(const std::string& what, const std::string& path, int err);

// Writes `n` bytes at `offset`, then starts their writeback: the file's final fsync finds
// little left to write, and the disk works while the CPU decodes the next chunks.
Status WriteChunk(int fd, const char* data, size_t n, uint64_t offset, const std::string& path) {
  size_t off = 0;
  while (off < n) {
    ssize_t w = ::pwrite(fd, data + off, n - off, static_cast<off_t>(offset + off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", path, errno);
    }
    off += static_cast<size_t>(w);
  }
  if (n == kBuffer) ::sync_file_range(fd, static_cast<off64_t>(offset), static_cast<off64_t>(n), SYNC_FILE_RANGE_WRITE);
  return Status::Ok();
}

Status Errno(const std::string& what, const std::string& path, int err) {
  std::string hint;
  if (err == ENOSPC) hint = "free some space on the file system that holds " + path;
  if (err == EACCES || err == EPERM) hint = "check the permissions of " + path;
  return Status::IO(what + " " + path + ": " + std::strerror(err), hint);
}

Status ApplyOwner(int fd, const std::string& path, const Owner& owner) {
  if (owner.change && ::fchown(fd, owner.uid, owner.gid) != 0) return Errno("cannot chown", path, errno);
  return Status::Ok();
}

Status SetTimes(int fd, const std::string& path, int64_t mtime_ns) {
  if (mtime_ns == 0) return Status::Ok();
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_NOW;
  times[1].tv_sec = static_cast<time_t>(mtime_ns / 1000000000);
  times[1].tv_nsec = static_cast<long>(mtime_ns % 1000000000);
  if (::futimens(fd, times) != 0) return Errno("cannot set the time of", path, errno);
  return Status::Ok();
}

}  // namespace

Owner DecideOwner(const std::string& pgdata, const std::string& backup_owner) {
  Owner o;
  if (!IsRoot()) {
    o.uid = ::getuid();
    o.gid = ::getgid();
    struct passwd* pw = ::getpwuid(o.uid);
    o.name = pw ? pw->pw_name : std::to_string(o.uid);
    return o;
  }
  struct stat st {};
  if (::stat(pgdata.c_str(), &st) == 0 && st.st_uid != 0) {
    o.change = true;
    o.uid = st.st_uid;
    o.gid = st.st_gid;
    struct passwd* pw = ::getpwuid(o.uid);
    o.name = pw ? pw->pw_name : std::to_string(o.uid);
    return o;
  }
  // A backup taken over the replication protocol never saw the data directory, so it
  // records no owner: `postgres`, the convention, when that user exists.
  std::string wanted = backup_owner.empty() ? "postgres" : backup_owner;
  auto user = LookupUser(wanted);
  if (user.ok() && user->uid != 0) {
    o.change = true;
    o.uid = user->uid;
    o.gid = user->gid;
    o.name = user->name;
    return o;
  }
  o.name = "root";
  return o;
}

Result<TargetState> InspectTarget(const std::string& dir) {
  TargetState t;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return t;
    return Errno("cannot inspect", dir, errno);
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(dir + " exists and is not a directory");
  t.exists = true;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Errno("cannot read", dir, errno);
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") t.empty = false;
  }
  ::closedir(d);
  t.looks_like_pgdata = ::access((dir + "/PG_VERSION").c_str(), F_OK) == 0;
  std::ifstream pid_file(dir + "/postmaster.pid");
  pid_t pid = 0;
  if (pid_file >> pid && pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM)) t.running_pid = pid;
  return t;
}

Status MakeDir(const std::string& path, uint32_t mode, const Owner& owner) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return Errno("cannot create directory", path, errno);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::IO(path + " exists and is not a directory", "remove it, or restore into an empty directory");
  }
  if (::chmod(path.c_str(), mode) != 0) return Errno("cannot chmod", path, errno);
  if (owner.change && ::lchown(path.c_str(), owner.uid, owner.gid) != 0) return Errno("cannot chown", path, errno);
  return Status::Ok();
}

Status MakeLink(const std::string& path, const std::string& target, const Owner& owner) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n >= 0 && std::string(buf, static_cast<size_t>(n)) == target) return Status::Ok();
  if (n >= 0 || errno != ENOENT) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  if (::symlink(target.c_str(), path.c_str()) != 0) return Errno("cannot create link", path, errno);
  if (owner.change && ::lchown(path.c_str(), owner.uid, owner.gid) != 0) return Errno("cannot chown", path, errno);
  return Status::Ok();
}

Result<uint64_t> WriteFileFrom(storage::Reader& reader, const std::string& path, uint32_t mode, int64_t mtime_ns,
                               const Owner& owner, Durability durability) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", path, errno);
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });
  // Two buffers: one is written (on another thread) while the pipeline decodes and
  // verifies into the other, so a big file's restore runs at the speed of the slower of
  // the two rather than of their sum.
  // Per thread, not per file: a thousand small files would otherwise each map and fault
  // in fresh buffers (and glibc hand them back to the kernel after every file).
  thread_local std::unique_ptr<char[]> bufs[2] = {std::unique_ptr<char[]>(new char[kBuffer]),
                                                  std::unique_ptr<char[]>(new char[kBuffer])};
  std::future<Status> pending;  // waited for before the buffers are reused
  uint64_t total = 0;
  for (int cur = 0;; cur ^= 1) {
    size_t n = 0;
    while (n < kBuffer) {
      PGK_ASSIGN_OR_RETURN(size_t got, reader.Read(bufs[cur].get() + n, kBuffer - n));
      if (got == 0) break;
      n += got;
    }
    if (pending.valid()) PGK_RETURN_IF_ERROR(pending.get());
    if (n == 0) break;
    const char* data = bufs[cur].get();
    uint64_t offset = total;
    total += n;
    if (offset == 0 && n < kBuffer) {  // a small file: no thread
      PGK_RETURN_IF_ERROR(WriteChunk(fd, data, n, offset, path));
      break;
    }
    pending = std::async(std::launch::async, [=, &path] { return WriteChunk(fd, data, n, offset, path); });
  }
  if (::fchmod(fd, mode != 0 ? mode : 0600) != 0) return Errno("cannot chmod", path, errno);
  PGK_RETURN_IF_ERROR(ApplyOwner(fd, path, owner));
  PGK_RETURN_IF_ERROR(SetTimes(fd, path, mtime_ns));
  if (durability == Durability::kSyncNow) {
    if (::fdatasync(fd) != 0) return Errno("cannot fsync", path, errno);
  } else {
    // The disk starts on it now; SyncFiles later waits (per file, never a syncfs, which
    // would also wait for everything else on the file system).
    ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  }
  return total;
}

Status SyncFiles(const std::vector<std::string>& paths, int jobs) {
  return ParallelForEach(paths.size(), jobs, [&](int, size_t i) {
    int fd = ::open(paths[i].c_str(), O_RDONLY | O_CLOEXEC);
    int err = 0;
    if (fd < 0 || ::fdatasync(fd) != 0) err = errno;
    if (fd >= 0) ::close(fd);
    return err == 0 ? Status::Ok() : Errno("cannot fsync", paths[i], err);
  });
}

Status WriteSmallFile(const std::string& path, const std::string& data, const Owner& owner) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", path, errno);
  Status s;
  if (::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
    s = Errno("cannot write", path, errno);
  if (s.ok() && ::fchmod(fd, 0600) != 0) s = Errno("cannot chmod", path, errno);
  if (s.ok()) s = ApplyOwner(fd, path, owner);
  if (s.ok() && ::fsync(fd) != 0) s = Errno("cannot fsync", path, errno);
  ::close(fd);
  return s;
}

Status SetAttributes(const std::string& path, uint32_t mode, int64_t mtime_ns, const Owner& owner) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path, errno);
  Status s;
  if (::fchmod(fd, mode != 0 ? mode : 0600) != 0) s = Errno("cannot chmod", path, errno);
  if (s.ok()) s = ApplyOwner(fd, path, owner);
  if (s.ok()) s = SetTimes(fd, path, mtime_ns);
  if (s.ok() && ::fsync(fd) != 0) s = Errno("cannot fsync", path, errno);
  ::close(fd);
  return s;
}

Result<std::pair<std::string, uint64_t>> HashLocalFile(const std::string& path) {
  PGK_ASSIGN_OR_RETURN(auto source, SourceFile::Open(path));
  if (!source) return Status::NotFound(path + " does not exist");
  return source->Hash();
}

Result<size_t> RemoveStrays(const std::string& root, const std::string& rel_prefix, const std::set<std::string>& keep) {
  size_t removed = 0;
  DIR* d = ::opendir(root.c_str());
  if (!d) return Errno("cannot read", root, errno);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) {
    std::string full = root + "/" + n;
    std::string rel = rel_prefix.empty() ? n : rel_prefix + "/" + n;
    struct stat st {};
    if (::lstat(full.c_str(), &st) != 0) continue;
    if (!keep.count(rel)) {
      std::error_code ec;
      std::filesystem::remove_all(full, ec);
      if (ec) return Status::IO("cannot remove " + full + ": " + ec.message());
      ++removed;
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      PGK_ASSIGN_OR_RETURN(size_t n_removed, RemoveStrays(full, rel, keep));
      removed += n_removed;
    }
  }
  return removed;
}

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync", dir, err);
  return Status::Ok();
}

}  // namespace pgk::physical
