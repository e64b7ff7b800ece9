// Filesystem helpers with pgkeeper's defaults: files are created 0600 and directories
// 0700, because what pgkeeper writes (state files, passwords, backups) is private.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "common/status.h"

namespace pgk::fs {

struct WriteOptions {
  bool atomic = true;  // write to a temp file, fsync, rename, fsync the directory
  bool sync = true;
  mode_t mode = 0600;
};

Status WriteFile(const std::filesystem::path& path, std::string_view data, WriteOptions options = {});
Result<std::string> ReadFile(const std::filesystem::path& path);
// Creates `path` and missing parents with `mode` (parents that exist are left alone).
Status MakeDirs(const std::filesystem::path& path, mode_t mode = 0700);
Status RemoveAll(const std::filesystem::path& path);
Status FsyncDir(const std::filesystem::path& dir);

// A private temporary directory, removed (recursively) when the object goes away.
class TempDir {
 public:
  static Result<TempDir> Create(const std::string& prefix);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  // Keep the directory on destruction.
  void Release() { path_.clear(); }

 private:
  explicit TempDir(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

}  // namespace pgk::fs
