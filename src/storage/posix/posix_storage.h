// The posix driver: a repository in a local (or mounted) directory.
//
// Layout: a storage path "a/b/c" is the file <root>/a/b/c; directories are created 0700
// and files 0600 as they are needed (backups hold passwords and data).
//
// Atomic writes go to "<path>.pgk-tmp.<random>" in the target's directory, which Close()
// fsyncs, renames over the target and makes durable with an fsync of the directory. A
// crash can leave such temp files behind; List never returns them and RemovePrefix
// removes them. Writes are buffered (1 MiB), so many small Write() calls cost few
// system calls.
//
// Paths must stay inside the root: absolute paths and "." or ".." components are
// InvalidArgument (exit 2). Symbolic links inside the root are not followed by List.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "storage/storage.h"

namespace pgk::storage {

// The system calls the driver does its I/O with. A test replaces one of them to make it
// fail the way a full (ENOSPC), read-only (EROFS) or failing (EIO) disk would: tests run
// as root in CI, and root ignores the permissions a test could otherwise provoke errors
// with. A replacement sets errno and returns -1 like the real call; members left empty
// use the real call.
struct PosixSyscalls {
  std::function<int(const char* path, int flags, mode_t mode)> open;
  std::function<ssize_t(int fd, void* buf, size_t n)> read;
  std::function<ssize_t(int fd, const void* buf, size_t n)> write;
  std::function<int(int fd)> fsync;
  std::function<int(const char* from, const char* to)> rename;
  std::function<int(const char* path, mode_t mode)> mkdir;
};

// Opens the directory `root` (relative paths are made absolute), creating it and its
// missing parents 0700. Url() is "file://" + the absolute root.
Result<std::unique_ptr<Storage>> OpenPosixStorage(const std::string& root, PosixSyscalls syscalls = {});

// The name of a temp file of an atomic write, e.g. for a test that fakes a crash.
inline constexpr const char kPosixTempMarker[] = ".pgk-tmp.";

}  // namespace pgk::storage
