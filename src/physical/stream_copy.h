// The copy of a physical backup over the replication protocol (`--source replication`):
// BASE_BACKUP's tar archives, read as they stream, each member straight into the
// repository through the pipeline, stored exactly as the data directory copy stores it
// (copy_files.h): `pgdata/<path>`, tablespaces under `pgdata/pg_tblspc/<oid>/`, with the
// mode and time of the tar header. Memory stays bounded: no member is ever held whole.
//
// Diff/incr: the server sends every file, so "unchanged" saves storage, not transfer. A
// file whose size and time match the prior backup's, safely old, is referenced and its
// bytes discarded; one that matches but is not safely old is stored while its SHA-256 is
// computed, and the stored copy is removed again, in favour of a reference, when the
// digest equals the prior one's (no temporary file, no second pass). Tar times are whole
// seconds, so the safety margin is widened by a second.
//
// Page checksums are verified by the server (VERIFY_CHECKSUMS): its WARNINGs name file and
// block, and become the manifest's page errors, as in the data directory copy.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backup/file_writer.h"
#include "common/status.h"
#include "pg/connection.h"
#include "physical/copy_files.h"
#include "repo/manifest.h"
#include "repo/repository.h"
#include "wal/replication.h"

namespace pgk::physical {

struct StreamPlan {
  repo::Repository* repository = nullptr;
  backup::FileSpec base;  // backup id, compression, data key
  std::string label;      // the backup's label on the server
  bool fast_checkpoint = true;
  int version_num = 0;
  const repo::Manifest* prior = nullptr;  // diff/incr reference, or null
  int64_t prior_start_us = 0;
  int compression_threads = 0;  // zstd workers for big files (0: none)
  std::function<void(const std::string&)> progress;
};

struct StreamedBackup {
  uint64_t start_lsn = 0;
  int64_t start_us = 0;  // database clock once the server had checkpointed
  uint64_t stop_lsn = 0;
  int64_t stop_us = 0;
  std::string stop_xmin;
  std::string backup_label;               // the text of the archive's backup_label
  std::vector<repo::ManifestFile> files;  // sorted by name
  std::vector<repo::PhysicalPath> paths;  // sorted by path
};

// Runs BASE_BACKUP on `replication` and stores what it sends; `conn` (a normal session on
// the same server) reads the database clock. Stops at the first error; the files already
// written are the caller's to remove.
Result<StreamedBackup> StreamBackup(wal::ReplicationConnection& replication, pg::Connection& conn,
                                    const StreamPlan& plan, CopyTotals* totals);

// A BASE_BACKUP checksum WARNING ("checksum verification failed in file "./base/1/2",
// block 3: ...") as the data directory path and block it names; false for any other
// message. Files of tablespaces are named by their location on the server.
bool ParseChecksumWarning(const std::string& message, const std::vector<wal::BaseBackupTablespace>& tablespaces,
                          std::string* path, uint32_t* block);

}  // namespace pgk::physical
