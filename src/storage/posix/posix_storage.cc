#include "storage/posix/posix_storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "common/fs.h"

namespace pgk::storage {

namespace {

// Large enough that a stream of small writes (a compressor's output) costs few syscalls,
// small enough that many concurrent writers stay cheap.
constexpr size_t kBufferSize = 1 << 20;

// The hints name what the user can act on; other errors (EIO) belong to the disk.
Status Errno(const std::string& what, const std::string& path, int err) {
  std::string hint;
  switch (err) {
    case ENOSPC:
      hint = "the file system holding " + path + " is full";
      break;
    case EDQUOT:
      hint = "the disk quota on the file system holding " + path + " is exhausted";
      break;
    case EROFS:
      hint = path + " is on a read-only file system";
      break;
    case EACCES:
    case EPERM:
      hint = "check the permissions of " + path + " and of its directories for the user running pgkeeper";
      break;
  }
  return Status::IO(what + " " + path + ": " + std::strerror(err), std::move(hint));
}

bool IsTempName(std::string_view name) { return name.find(kPosixTempMarker) != std::string_view::npos; }

std::string RandomSuffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, static_cast<uint64_t>(rng()));
  return buf;
}

std::shared_ptr<const PosixSyscalls> WithDefaults(PosixSyscalls s) {
  if (!s.open) s.open = [](const char* p, int flags, mode_t mode) { return ::open(p, flags, mode); };
  if (!s.read) s.read = [](int fd, void* buf, size_t n) { return ::read(fd, buf, n); };
  if (!s.write) s.write = [](int fd, const void* buf, size_t n) { return ::write(fd, buf, n); };
  if (!s.fsync) s.fsync = [](int fd) { return ::fsync(fd); };
  if (!s.rename) s.rename = [](const char* from, const char* to) { return ::rename(from, to); };
  if (!s.mkdir) s.mkdir = [](const char* p, mode_t mode) { return ::mkdir(p, mode); };
  return std::make_shared<const PosixSyscalls>(std::move(s));
}

class PosixWriter : public Writer {
 public:
  PosixWriter(std::shared_ptr<const PosixSyscalls> sys, std::string target, std::string file, int fd,
              WriteOptions options)
      : sys_(std::move(sys)), target_(std::move(target)), file_(std::move(file)), fd_(fd), options_(options) {}
  ~PosixWriter() override { Abort(); }

  Status Write(std::string_view data) override {
    if (done_) return Status::Internal("write after close or error on " + target_);
    if (buffer_.size() + data.size() > kBufferSize) {
      PGK_RETURN_IF_ERROR(Flush());
      // A chunk as large as the buffer gains nothing from a copy.
      if (data.size() >= kBufferSize) {
        PGK_RETURN_IF_ERROR(WriteAll(data));
        bytes_ += data.size();
        return Status::Ok();
      }
    }
    buffer_.append(data);
    bytes_ += data.size();
    return Status::Ok();
  }

  Status Close() override {
    if (done_) return Status::Internal("close after close or error on " + target_);
    PGK_RETURN_IF_ERROR(Flush());
    if (options_.sync && sys_->fsync(fd_) != 0) return FailErrno("cannot fsync", target_);
    int fd = fd_;
    fd_ = -1;
    // Some file systems (NFS) report a failed write only when the file is closed.
    if (::close(fd) != 0) return FailErrno("cannot close", target_);
    if (options_.atomic && sys_->rename(file_.c_str(), target_.c_str()) != 0) {
      return FailErrno("cannot rename into", target_);
    }
    // The new name is durable only once the directory is synced. If that fails, the file
    // is removed again: a failed Close() leaves no file, so a caller never builds on one
    // that a crash could still take away.
    file_ = target_;
    if (options_.sync) {
      std::string dir = std::filesystem::path(target_).parent_path().string();
      int dfd = sys_->open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
      if (dfd < 0) return FailErrno("cannot open directory", dir);
      int rc = sys_->fsync(dfd);
      int err = errno;
      ::close(dfd);
      if (rc != 0) return Fail(Errno("cannot fsync directory", dir, err));
    }
    done_ = true;
    return Status::Ok();
  }

  // Removes what was written: the temp file, or a non-atomic target, which O_TRUNC
  // already emptied, so a partial file never looks complete.
  void Abort() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!done_) ::unlink(file_.c_str());
    done_ = true;
    buffer_.clear();
  }

  uint64_t bytes_written() const override { return bytes_; }

 private:
  // Errors leave nothing behind, so a caller that returns on error needs no cleanup.
  Status Fail(Status s) {
    Abort();
    return s;
  }
  Status FailErrno(const char* what, const std::string& path) {
    int err = errno;
    return Fail(Errno(what, path, err));
  }

  Status Flush() {
    Status s = WriteAll(buffer_);
    buffer_.clear();
    return s;
  }

  Status WriteAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = sys_->write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return FailErrno("cannot write", target_);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }

  std::shared_ptr<const PosixSyscalls> sys_;
  std::string target_;
  std::string file_;  // the temp file (atomic) or the target; unlinked unless Close() succeeds
  int fd_;
  WriteOptions options_;
  std::string buffer_;
  uint64_t bytes_ = 0;
  bool done_ = false;
};

class PosixReader : public Reader {
 public:
  PosixReader(std::shared_ptr<const PosixSyscalls> sys, std::string path, int fd)
      : sys_(std::move(sys)), path_(std::move(path)), fd_(fd) {}
  ~PosixReader() override { ::close(fd_); }

  Result<size_t> Read(char* buf, size_t n) override {
    for (;;) {
      ssize_t got = sys_->read(fd_, buf, n);
      if (got >= 0) return static_cast<size_t>(got);
      int err = errno;
      if (err != EINTR) return Errno("cannot read", path_, err);
    }
  }

 private:
  std::shared_ptr<const PosixSyscalls> sys_;
  std::string path_;
  int fd_;
};

class PosixStorage : public Storage {
 public:
  PosixStorage(std::string root, std::shared_ptr<const PosixSyscalls> sys)
      : root_(std::move(root)), sys_(std::move(sys)) {}

  std::string Url() const override { return "file://" + root_; }
  Features features() const override { return {.real_directories = true}; }

  Result<std::unique_ptr<Writer>> OpenWrite(const std::string& path, const WriteOptions& options) override {
    PGK_RETURN_IF_ERROR(CheckPath(path, PathKind::kFile));
    std::string target = Full(path);
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (options.atomic ? O_EXCL : O_TRUNC);
    // Parents are created only when the open says they are missing: most writes go to
    // directories that exist, and this saves a mkdir per path component for each of them.
    bool made_parents = false;
    for (int attempt = 0; attempt < 8; ++attempt) {
      std::string file = options.atomic ? target + kPosixTempMarker + RandomSuffix() : target;
      int fd = sys_->open(file.c_str(), flags, 0600);
      if (fd >= 0) {
        // O_TRUNC keeps an existing file's mode; what pgkeeper writes is private.
        if (!options.atomic) ::fchmod(fd, 0600);
        return std::unique_ptr<Writer>(new PosixWriter(sys_, target, file, fd, options));
      }
      int err = errno;
      if (err == ENOENT && !made_parents) {
        PGK_RETURN_IF_ERROR(MakeParents(path));
        made_parents = true;
        continue;
      }
      if (err == EEXIST && options.atomic) continue;  // another writer drew the same suffix
      return Errno("cannot create", target, err);
    }
    return Status::IO("cannot create a temporary file for " + target);
  }

  Result<std::unique_ptr<Reader>> OpenRead(const std::string& path) override {
    PGK_RETURN_IF_ERROR(CheckPath(path, PathKind::kFile));
    std::string full = Full(path);
    int fd = sys_->open(full.c_str(), O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
      int err = errno;
      if (err == ENOENT || err == ENOTDIR) return Status::NotFound("file not found: " + full);
      return Errno("cannot open", full, err);
    }
    auto reader = std::make_unique<PosixReader>(sys_, full, fd);
    // A directory is not a file here: object stores have no directories to open either.
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) return Status::NotFound("not a file: " + full);
    return std::unique_ptr<Reader>(std::move(reader));
  }

  Result<std::optional<FileInfo>> Stat(const std::string& path) override {
    PGK_RETURN_IF_ERROR(CheckPath(path, PathKind::kFile));
    std::string full = Full(path);
    struct stat st {};
    if (::stat(full.c_str(), &st) != 0) {
      int err = errno;
      if (err == ENOENT || err == ENOTDIR) return std::optional<FileInfo>();
      return Errno("cannot stat", full, err);
    }
    if (!S_ISREG(st.st_mode)) return std::optional<FileInfo>();
    return std::optional<FileInfo>(Info(path, st));
  }

  Result<std::vector<FileInfo>> List(const std::string& prefix) override {
    PGK_RETURN_IF_ERROR(CheckPath(prefix, PathKind::kPrefix));
    std::vector<FileInfo> files;
    PGK_RETURN_IF_ERROR(Walk(StartDir(prefix), prefix, /*with_temp=*/false, &files, nullptr));
    std::sort(files.begin(), files.end(), [](const FileInfo& a, const FileInfo& b) { return a.path < b.path; });
    return files;
  }

  Status Remove(const std::string& path) override {
    PGK_RETURN_IF_ERROR(CheckPath(path, PathKind::kFile));
    return Unlink(Full(path));
  }

  Status RemovePrefix(const std::string& prefix) override {
    PGK_RETURN_IF_ERROR(CheckPath(prefix, PathKind::kPrefix));
    // Temp files are removed too: under a removed prefix they can only be a crash's leftovers.
    std::vector<FileInfo> files;
    std::vector<std::string> dirs;
    PGK_RETURN_IF_ERROR(Walk(StartDir(prefix), prefix, /*with_temp=*/true, &files, &dirs));
    if (prefix.ends_with('/')) dirs.push_back(prefix);  // the walk's start, which it does not list
    for (const auto& f : files) PGK_RETURN_IF_ERROR(Unlink(Full(f.path)));
    // Walk lists a directory after its children, so they are empty by the time it comes.
    // A directory that is not empty got a file from a concurrent writer, which wins.
    for (const auto& d : dirs) {
      std::string full = Full(d);
      if (::rmdir(full.c_str()) == 0) continue;
      int err = errno;
      if (err != ENOENT && err != ENOTEMPTY && err != EEXIST) return Errno("cannot remove directory", full, err);
    }
    return Status::Ok();
  }

 private:
  std::string Full(const std::string& path) const { return root_ + "/" + path; }

  static FileInfo Info(std::string path, const struct stat& st) {
    return {.path = std::move(path), .size = static_cast<uint64_t>(st.st_size), .mtime_s = st.st_mtim.tv_sec};
  }

  // The directory holding everything that can match: "a/b/" for "a/b/" and for "a/b/c".
  static std::string StartDir(const std::string& prefix) { return prefix.substr(0, prefix.rfind('/') + 1); }

  Status Unlink(const std::string& full) const {
    if (::unlink(full.c_str()) == 0) return Status::Ok();
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return Status::Ok();
    return Errno("cannot remove", full, err);
  }

  Status MakeParents(const std::string& path) const {
    for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      std::string dir = Full(path.substr(0, slash));
      if (sys_->mkdir(dir.c_str(), 0700) == 0) continue;
      int err = errno;
      if (err != EEXIST) return Errno("cannot create directory", dir, err);
    }
    return Status::Ok();
  }

  // Appends the files under `dir` ("" or ending in '/') whose path starts with `prefix`,
  // descending only into directories that can hold such files; with `dirs`, also appends
  // the directories under the prefix, children first. Symbolic links are skipped: the
  // driver never makes them, and following one could leave the root or loop.
  Status Walk(const std::string& dir, const std::string& prefix, bool with_temp, std::vector<FileInfo>* files,
              std::vector<std::string>* dirs) const {
    std::string full = dir.empty() ? root_ : Full(dir);
    DIR* d = ::opendir(full.c_str());
    if (d == nullptr) {
      int err = errno;
      if (err == ENOENT || err == ENOTDIR) return Status::Ok();
      return Errno("cannot list", full, err);
    }
    std::unique_ptr<DIR, int (*)(DIR*)> close_dir(d, ::closedir);
    for (;;) {
      errno = 0;
      const dirent* entry = ::readdir(d);
      if (entry == nullptr) {
        int err = errno;
        if (err != 0) return Errno("cannot list", full, err);
        return Status::Ok();
      }
      std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      std::string rel = dir + std::string(name);
      struct stat st {};
      if (::fstatat(::dirfd(d), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int err = errno;
        if (err == ENOENT) continue;  // removed while we list
        return Errno("cannot stat", Full(rel), err);
      }
      if (S_ISDIR(st.st_mode)) {
        std::string sub = rel + "/";
        bool under = sub.starts_with(prefix);
        if (!under && !prefix.starts_with(sub)) continue;
        PGK_RETURN_IF_ERROR(Walk(sub, prefix, with_temp, files, dirs));
        if (under && dirs != nullptr) dirs->push_back(sub);
      } else if (S_ISREG(st.st_mode) && rel.starts_with(prefix) && (with_temp || !IsTempName(name))) {
        files->push_back(Info(std::move(rel), st));
      }
    }
  }

  std::string root_;  // absolute, without a trailing '/'
  std::shared_ptr<const PosixSyscalls> sys_;
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenPosixStorage(const std::string& root, PosixSyscalls syscalls) {
  if (root.empty()) return Status::InvalidArgument("empty repository path");
  std::error_code ec;
  std::string abs = std::filesystem::absolute(root, ec).lexically_normal().string();
  if (ec) return Status::IO("cannot resolve " + root + ": " + ec.message());
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  PGK_RETURN_IF_ERROR(fs::MakeDirs(abs, 0700));
  return std::unique_ptr<Storage>(new PosixStorage(abs, WithDefaults(std::move(syscalls))));
}

}  // namespace pgk::storage
