// Asynchronous archiving: a local spool directory lets one wal-push call push a backlog
// in parallel and later calls return at once, and lets wal-fetch serve segments that a
// background worker prefetched while PostgreSQL was replaying the previous ones.
//
// Spool layout (the directory is private: 0700, files 0600):
//   <spool>/push-<repo>/<wal name>.ok         acknowledgement: "<sha256> <size> <mtime_ns> <inode>"
//   <spool>/fetch-<repo>/<wal name>-<sha256>  a prefetched WAL file, verified against the archive
//   <spool>/fetch-<repo>/.lock                held (flock) by the running prefetch worker
// <repo> is a hash of the repository URL, so switching repositories never reuses an
// acknowledgement or a prefetched file that belongs to another one.
//
// An acknowledgement is trusted only for the very file it was written for (same size,
// mtime and inode): a data directory restored over the old one, or a recycled segment
// file, never inherits one.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "wal/archive.h"

namespace pgk::wal {

struct AsyncPushOptions {
  std::filesystem::path spool;
  std::filesystem::path wal_dir;  // pg_wal: the directory of %p, holding archive_status/
  int jobs = 2;
  size_t max_batch = 64;  // .ready files pushed by one call at most (the requested one included)
  PushOptions push;
};

struct AsyncPushReport {
  bool acknowledged = false;                           // the spool had already acknowledged the requested file
  size_t pushed = 0;                                   // files stored by this call
  size_t already = 0;                                  // files that were in the archive already
  std::vector<std::pair<std::string, Status>> failed;  // other files (retried when PostgreSQL asks)
};

// Whether the spool acknowledges `wal_name` (in wal_dir) for the repository at
// `repo_url` (storage::Storage::Url()): the fast path, before anything is opened.
bool AcknowledgedInSpool(const std::filesystem::path& spool, const std::string& repo_url,
                         const std::filesystem::path& wal_dir, const std::string& wal_name);

// Returns at once when the spool acknowledges `wal_name`; otherwise pushes it together
// with up to max_batch - 1 other files marked .ready in wal_dir/archive_status (timeline
// history files first, then oldest first, as PostgreSQL orders them), `jobs` at a time,
// acknowledging each success. The result's status is that of `wal_name` alone.
Result<AsyncPushReport> PushAsync(const Archive& archive, const std::string& wal_name, const AsyncPushOptions& options);

struct PrefetchOptions {
  std::filesystem::path spool;
  int count = 8;  // segments kept ready ahead of the one PostgreSQL asks for
  int jobs = 2;
};

// Serves `wal_name` into `dest` from the spool when it was prefetched (after re-hashing
// it: a spool file damaged on disk is discarded, not served), else from the archive.
// Removes spooled segments older than `wal_name`. `served_from_spool` says which.
Status FetchWithSpool(const Archive& archive, const std::string& wal_name, const std::filesystem::path& dest,
                      const PrefetchOptions& options, bool* served_from_spool);

// The prefetch worker's body: fetches the `count` segments after `wal_name` (same
// timeline) that the spool does not hold yet, `jobs` at a time, stopping at the first
// one the archive does not have. Returns at once when another worker holds the lock.
Status Prefetch(const Archive& archive, const std::string& wal_name, const PrefetchOptions& options);

// Whether a prefetch worker for this spool and archive is running (its lock is held).
bool PrefetchRunning(const Archive& archive, const std::filesystem::path& spool);

}  // namespace pgk::wal
