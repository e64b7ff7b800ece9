// Logical backups: one database, consistent and parallel. The coordinator connection
// exports a snapshot (REPEATABLE READ); pg_dump writes the pre-data and post-data schema
// sections from that snapshot, and `jobs` connections that import it stream each table
// with COPY straight through the pipeline into the repository — no uncompressed copy on
// disk, memory bounded by the pipeline's buffers. Sequences' values and large objects are
// read in the same snapshot. The manifest is written last.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "pipeline/compress.h"
#include "repo/manifest.h"
#include "repo/repository.h"

namespace pgk::backup {

struct LogicalOptions {
  std::string conninfo;
  int jobs = 2;
  pipeline::Compression compression = pipeline::Compression::kZstd;
  int compression_level = 0;
  std::string tag;
  bool schema_only = false;
  bool data_only = false;
  bool include_unlogged = false;
  // Tables larger than two parts are read in parts of this many bytes (on disk), each on
  // its own connection (see logical.cc); 0 never splits.
  int64_t part_bytes = int64_t{128} << 20;
  std::vector<std::string> tables;          // -t: only these (qualified or plain names)
  std::vector<std::string> exclude_tables;  // --exclude-table
  // A database of a cluster backup (backup/globals.h): its files go under this id
  // ("<cluster id>/db/<n>"), encrypted with the cluster's data key (null: unencrypted),
  // and the manifest is returned, not written.
  std::string member_id;
  const pipeline::Key* member_key = nullptr;
  // Progress in bytes of table data read (before compression), for a progress bar: the
  // estimate of the total (the tables' size on disk) once, then every chunk as it passes.
  std::function<void(int64_t)> on_total_bytes;
  std::function<void(int64_t)> on_bytes;
};

struct LogicalResult {
  repo::Manifest manifest;
  std::string warning;  // e.g. "suspiciously small: 12 MB, the previous backup had 1.2 GB"
};

// `progress` receives short human-readable events ("table public.positions: 5,000 rows").
Result<LogicalResult> RunLogicalBackup(repo::Repository& repository, const LogicalOptions& options,
                                       const std::function<void(const std::string&)>& progress);

}  // namespace pgk::backup
