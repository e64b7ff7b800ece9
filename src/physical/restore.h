// Physical restore: a physical backup back into a data directory, ready for recovery.
//
// Safety rules:
//   - the directory must be empty (or not exist) unless `delta` (keep files whose SHA-256
//     matches the backup, rewrite the others) or `force` (rewrite everything); both remove
//     files the backup does not have (old WAL would otherwise be replayed) and refuse
//     while a server runs on the directory;
//   - global/pg_control is removed first and written last: a restore that stops halfway
//     leaves a directory PostgreSQL refuses to start, never a silently inconsistent one;
//   - every file is read through the verifying pipeline; files and directories are synced before
//     pg_control is written.
// Recovery: recovery.signal and the recovery settings (restore_command = pgkeeper
// wal-fetch, the target) are written into the restored postgresql.auto.conf, whose own
// earlier recovery settings are commented out.
// As root, files and directories are given to the data directory's owner (an existing
// directory's owner, else the backed-up cluster's owner when that user exists here).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "physical/recovery.h"
#include "repo/manifest.h"
#include "repo/repository.h"

namespace pgk::physical {

struct PhysicalRestoreOptions {
  std::string pgdata;
  bool delta = false;
  bool force = false;
  int jobs = 2;
  RecoveryTarget target;
  std::string restore_command;  // wal::RestoreCommand(...)
};

struct PhysicalRestoreReport {
  std::string backup_id;
  std::string pgdata;
  size_t files_written = 0, files_kept = 0, files_removed = 0;
  uint64_t bytes_written = 0;
  std::vector<std::string> settings;  // what went into postgresql.auto.conf
  std::string owner;                  // who owns the restored files
  double seconds = 0;
};

Result<PhysicalRestoreReport> RunPhysicalRestore(repo::Repository& repository, const repo::Manifest& m,
                                                 const PhysicalRestoreOptions& options,
                                                 const std::function<void(const std::string&)>& progress);

}  // namespace pgk::physical
