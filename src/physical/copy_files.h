// The parallel copy of a physical backup: `jobs` threads take files from one queue
// (largest first, so the longest copy starts at once and the threads finish together),
// decide per file whether the prior backup's copy can be referenced (incremental.h),
// and otherwise stream the file through the pipeline into the repository.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "backup/file_writer.h"
#include "common/status.h"
#include "physical/file_copy.h"
#include "physical/pgdata.h"
#include "repo/manifest.h"
#include "repo/repository.h"

namespace pgk::physical {

struct CopyPlan {
  repo::Repository* repository = nullptr;
  backup::FileSpec base;          // backup id, compression, data key
  std::string pgdata;
  PageCheck check;                // enabled = the cluster has checksums; per-file fields filled in
  const repo::Manifest* prior = nullptr;  // diff/incr reference, or null
  int64_t prior_start_us = 0;
  int jobs = 2;
  int compression_threads = 0;    // zstd workers for big files (0: none)
  std::function<void(const std::string&)> progress;
};

struct CopyTotals {
  std::atomic<size_t> copied{0}, referenced{0}, vanished{0};
  std::atomic<uint64_t> bytes_copied{0}, bytes_referenced{0};
};

// Copies `files` (regular files only) and returns their manifest entries, sorted by name.
// Files that disappeared before they could be opened are left out (WAL replay removes
// them anyway). Stops at the first error.
Result<std::vector<repo::ManifestFile>> CopyFiles(const CopyPlan& plan, std::vector<const PgdataEntry*> files,
                                                  CopyTotals* totals);

// The repository name of a data directory file: "pgdata/<path>".
std::string StoredName(const std::string& pgdata_path);

}  // namespace pgk::physical
