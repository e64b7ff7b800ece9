// The repository's storage: one interface, several drivers (posix, s3, memory), chosen by
// URL scheme. Like pgBackRest's storage layer, paths are relative to the storage root and
// use '/' separators; object stores have no real directories, so nothing here creates or
// lists directories as such — List works on key prefixes.
//
// Writes are atomic by default: a reader sees either the complete new file or nothing
// (posix: temp file, fsync, rename, fsync of the directory; S3: the object appears only
// when the upload completes). Every driver streams: memory stays bounded whatever the
// file size (S3 multipart parts are the unit of buffering).
//
// Thread safety: a Storage may be used from several threads at once; a Reader or Writer
// belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pgk::storage {

struct WriteOptions {
  bool atomic = true;  // invisible until Close() succeeds
  bool sync = true;    // durable when Close() returns (fsync / completed upload)
};

struct FileInfo {
  std::string path;     // relative to the storage root
  uint64_t size = 0;
  int64_t mtime_s = 0;  // seconds since the epoch (object stores: last-modified)
};

class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to `n` bytes into `buf`; 0 means end of file.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

class Writer {
 public:
  virtual ~Writer() = default;  // a Writer destroyed without Close() aborts (leaves nothing)
  virtual Status Write(std::string_view data) = 0;
  // Makes the file visible (atomic) and durable (sync). After an error, the file does not
  // exist (atomic writes) and the Writer must not be used again.
  virtual Status Close() = 0;
  virtual void Abort() = 0;
  virtual uint64_t bytes_written() const = 0;
};

struct Features {
  bool real_directories = false;  // posix: true; object stores: false
  bool append = false;
};

class Storage {
 public:
  virtual ~Storage() = default;
  // The storage's URL for messages, credentials never included.
  virtual std::string Url() const = 0;
  virtual Features features() const = 0;

  virtual Result<std::unique_ptr<Writer>> OpenWrite(const std::string& path, const WriteOptions& options = {}) = 0;
  // NotFound (exit 2) when the file does not exist.
  virtual Result<std::unique_ptr<Reader>> OpenRead(const std::string& path) = 0;
  // nullopt when the file does not exist.
  virtual Result<std::optional<FileInfo>> Stat(const std::string& path) = 0;
  // Every file whose path starts with `prefix` (recursively), sorted by path.
  virtual Result<std::vector<FileInfo>> List(const std::string& prefix) = 0;
  // Removing a file that does not exist succeeds.
  virtual Status Remove(const std::string& path) = 0;
  // Removes every file under `prefix` (e.g. "backups/20261122-010203F/").
  virtual Status RemovePrefix(const std::string& prefix) = 0;

  // Conveniences built on the above.
  Status Put(const std::string& path, std::string_view data, const WriteOptions& options = {});
  Result<std::string> Get(const std::string& path);
  Result<bool> Exists(const std::string& path);
};

enum class PathKind { kFile, kPrefix };

// Every driver refuses, rather than normalises, paths that are empty (files), absolute,
// contain NUL, "." or ".." components or empty components, or (files) end in '/': one
// spelling per file keeps keys identical on every driver, and no ".." keeps the posix
// driver inside its root. In a prefix the last component may be a partial name
// ("backups/2026"). InvalidArgument (exit 2) otherwise.
Status CheckPath(const std::string& path, PathKind kind);

struct StorageOptions {
  // S3: part size and parallelism of multipart uploads (bounded memory: size x parallel).
  size_t s3_part_size = 16 << 20;
  int s3_parallel = 4;
  int s3_max_retries = 5;
};

// Opens storage by URL: "file:///abs/path" or a plain path (posix), "s3://bucket/prefix"
// (S3; endpoint, region and credentials from the environment, see s3/s3_storage.h),
// "memory://name" (in-process, for tests). A bad URL is InvalidArgument (exit 2).
Result<std::unique_ptr<Storage>> OpenStorage(const std::string& url, const StorageOptions& options = {});

}  // namespace pgk::storage
