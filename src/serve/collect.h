// The I/O behind the status snapshot: the database (a probe; check's migration and schema
// sections; the archiver's view of WAL) and the repository (manifests, drill records,
// stored bytes). Each part records its own failure in the snapshot instead of failing:
// a status page must render when the database or the repository is down.
#pragma once

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

// Repository fields: backups, repository_bytes, last_drill, and wal_last_archived when
// the server did not say.
void CollectRepository(const CollectOptions& options, StatusSnapshot* s);

}  // namespace pgk::serve
