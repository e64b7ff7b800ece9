// Restoring a cluster backup: its globals, then each chosen database into a new database,
// each one exactly as `restore` does for a logical backup (restore.h: created, filled,
// counted; dropped on failure). Non-destructive by default: when any target database
// exists, nothing at all is done, and the user picks another mapping.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/manifest.h"
#include "repo/repository.h"
#include "restore/globals.h"
#include "restore/restore.h"

namespace pgk::restore {

struct ClusterRestoreOptions {
  std::string server_conninfo;
  int jobs = 2;
  bool verify_first = true;
  std::vector<std::string> only;     // the backup's databases to restore (default: all)
  std::vector<std::string> exclude;  // ... or all but these
  std::string prefix;                // each database restored as prefix + name
  std::string into;                  // the new name, when exactly one database is chosen
  bool globals = true;               // false: databases only
  bool tablespaces = true;           // false: roles only from the globals
};

struct DatabaseTarget {
  const repo::ManifestDatabase* database = nullptr;  // points into the manifest
  std::string into;
};

struct ClusterRestoreReport {
  std::string backup_id;
  int files_verified = 0;
  std::optional<GlobalsReport> globals;
  std::vector<RestoreReport> databases;  // in the order of the targets; .database is the new name
  std::vector<std::string> sources;      // the backup's name of each restored database
  // Database properties (owner, privileges, settings) that could not be applied, e.g.
  // because the owner role does not exist without the globals; the data is restored.
  std::vector<std::string> warnings;
  double seconds = 0;
};

// Which database goes where, from --only/--exclude/--prefix/--into: InvalidArgument for
// names the backup does not hold, --into without exactly one database, --into with
// --prefix, or names longer than PostgreSQL's 63 bytes. Pure.
Result<std::vector<DatabaseTarget>> PlanDatabases(const repo::Manifest& m, const ClusterRestoreOptions& options);

// Refused (nothing done) when a target database exists. Verifies the files it will read
// first (unless !verify_first), applies the globals, then restores each database in turn.
// A failure stops there: databases restored before it are complete and kept, and the
// error names them. Count mismatches are in the report, not errors.
Result<ClusterRestoreReport> RestoreCluster(repo::Repository& repo, const repo::Manifest& m,
                                            const ClusterRestoreOptions& options);

}  // namespace pgk::restore
