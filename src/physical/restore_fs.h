// File system side of a physical restore: who owns the restored files, what is already
// in the target directory, and writing one file with its mode, owner and time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/storage.h"

namespace pgk::physical {

struct Owner {
  bool change = false;  // running as root: chown everything to uid/gid
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};
// As root: the existing directory's owner if it is not root, else `backup_owner` (or
// `postgres` when the backup records none: replication-mode backups) when that user
// exists here, else root. Otherwise: ourselves.
Owner DecideOwner(const std::string& pgdata, const std::string& backup_owner);

// What the target directory holds. NotFound-free: a missing directory is empty.
struct TargetState {
  bool exists = false;
  bool empty = true;
  bool looks_like_pgdata = false;  // has PG_VERSION
  pid_t running_pid = 0;           // postmaster.pid names a live process
};
Result<TargetState> InspectTarget(const std::string& dir);

Status MakeDir(const std::string& path, uint32_t mode, const Owner& owner);
Status MakeLink(const std::string& path, const std::string& target, const Owner& owner);
// How WriteFileFrom makes a file durable: at once (fdatasync before returning), or by
// starting its writeback and leaving the wait to a later SyncFiles over many files. The
// latter is what a restore of a thousand files wants: on ext4 (data=ordered) every
// fdatasync of a new file is a journal commit of its own, while one pass at the end finds
// the data written and commits the journal once.
enum class Durability { kSyncNow, kSyncLater };

// Streams `reader` into `path` (created or truncated), then sets mode, owner and mtime.
// Returns the bytes written.
Result<uint64_t> WriteFileFrom(storage::Reader& reader, const std::string& path, uint32_t mode, int64_t mtime_ns,
                               const Owner& owner, Durability durability = Durability::kSyncNow);
// fdatasync of each file, on `jobs` threads: the end of a kSyncLater restore.
Status SyncFiles(const std::vector<std::string>& paths, int jobs);
Status WriteSmallFile(const std::string& path, const std::string& data, const Owner& owner);
// Sets mode, owner and mtime of an existing file (a file --delta keeps).
Status SetAttributes(const std::string& path, uint32_t mode, int64_t mtime_ns, const Owner& owner);
// SHA-256 and size of a local file.
Result<std::pair<std::string, uint64_t>> HashLocalFile(const std::string& path);

// Removes everything under `root` (not following links) whose path relative to
// `rel_prefix` is not in `keep`; returns how many entries went.
Result<size_t> RemoveStrays(const std::string& root, const std::string& rel_prefix, const std::set<std::string>& keep);

// fsync of a directory: makes the names of the files created in it durable.
Status SyncDirectory(const std::string& dir);

}  // namespace pgk::physical
