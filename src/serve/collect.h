// The I/O behind the status snapshot: the database (a probe; check's migration and schema
// sections; the archiver's view of WAL) and the repository (manifests, drill records,
// stored bytes). Each part records its own failure in the snapshot instead of failing:
// a status page must render when the database or the repository is down.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/config.h"
#include "common/status.h"
#include "serve/status.h"

namespace pgk::serve {

struct CollectOptions {
  std::string conninfo;
  std::string repo_url;
  std::string key_file;
  const Config* config = nullptr;
  int probe_timeout_s = 3;
};

// Connects and runs SELECT 1 (the liveness part of /health and /ready).
Status ProbeDatabase(const std::string& conninfo, int timeout_s);

// Database fields: database_up/error, migration_version/dirty, schema_differences,
// archive_mode and the WAL lag. `with_check` false skips check's sections (expensive: the
// schema comparison may build a shadow database), keeping the previous values.
void CollectDatabase(const CollectOptions& options, bool with_check, double now, StatusSnapshot* s);

// The manifests a refresh has read, by path, with the size and time they had then. A
// manifest is written once (`repo rekey` rewrites only its wrapped key, which the summary
// does not hold), and on S3 a physical backup's is megabytes: each refresh reads only new
// or rewritten ones.
struct ManifestCache {
  struct Entry {
    uint64_t size = 0;
    int64_t mtime_s = 0;
    int64_t start_us = 0;  // repo::StartMicros, for ordering
    BackupSummary summary;
  };
  std::map<std::string, Entry> entries;
  int reads = 0;  // manifests fetched so far (for tests)
};

// Repository fields: backups, repository_bytes, last_drill, and wal_last_archived when
// the server did not say. One listing of the whole repository per call; `cache` carries
// the parsed manifests from one call to the next.
void CollectRepository(const CollectOptions& options, ManifestCache* cache, StatusSnapshot* s);

}  // namespace pgk::serve
