// Physical backups: the whole cluster, file by file, while it keeps running.
//
// Order of events (each step's reason is in backup.cc):
//   1. checks: archive_mode, wal_level; the source (source.h): the data directory when it
//      is readable here and belongs to the server we are connected to (system identifier
//      in global/pg_control), else the replication protocol;
//   2. pgdata: pg_backup_start (fast checkpoint by default) on a connection held for the
//      whole backup; the data directory copied in parallel through the pipeline, page
//      checksums checked, unchanged files of a diff/incr referenced instead;
//      global/pg_control copied last; pg_backup_stop: backup_label and tablespace_map are
//      stored as data directory files;
//   3. replication: BASE_BACKUP, its tar stream stored file by file (stream_copy.h), the
//      server checking page checksums;
//   4. a standby works in both modes: its backup ends at its replay point;
//   5. wait until the WAL from the start to the stop segment is in the repository's
//      archive (wal/archive.h), so that the backup can actually be restored;
//   6. the manifest, last. Without it the backup does not exist (expire removes debris).
// Page checksum failures do not stop the backup (the copy is faithful, and the backup may
// be the best one there is): they are recorded per file and reported.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "pipeline/compress.h"
#include "repo/manifest.h"
#include "repo/repository.h"

namespace pgk::physical {

struct PhysicalBackupOptions {
  std::string conninfo;
  std::string pgdata;          // "" = the server's data_directory
  std::string source = "auto"; // "auto" | "pgdata" | "replication" (physical/source.h)
  std::string mode = "incr";   // "full" | "diff" | "incr" (diff/incr fall back to full)
  int jobs = 2;
  pipeline::Compression compression = pipeline::Compression::kZstd;
  int compression_level = 0;
  std::string tag;
  bool fast_checkpoint = true;  // false: a spread checkpoint (the backup starts later)
  int archive_timeout_s = 60;   // how long to wait for the backup's WAL to be archived
};

struct PageErrors {
  std::string file;  // relative to PGDATA
  std::vector<uint32_t> blocks;
};

struct PhysicalBackupResult {
  repo::Manifest manifest;
  size_t files_copied = 0, files_referenced = 0, files_vanished = 0;
  uint64_t bytes_copied = 0, bytes_referenced = 0;
  std::vector<PageErrors> page_errors;
  std::string note;  // e.g. why an incremental became full
  std::string source, source_reason;  // the source used ("pgdata" | "replication") and why
};

Result<PhysicalBackupResult> RunPhysicalBackup(repo::Repository& repository, const PhysicalBackupOptions& options,
                                               const std::function<void(const std::string&)>& progress);

}  // namespace pgk::physical
