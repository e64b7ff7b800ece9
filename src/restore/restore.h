// Restoring a logical backup (docs/commands/restore.md). The whole-database restore
// creates a new database and either completes it or drops it: no half-restored database
// is ever left behind. The table-level recovery loads one table's data beside the live
// table, in one transaction. Progress goes to the log (stderr), one line per phase.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/manifest.h"
#include "repo/repository.h"

namespace pgk::restore {

struct RestoreOptions {
  std::string server_conninfo;  // any database on the target server (empty: libpq defaults)
  std::string into;             // the database to create (or, with table, an existing one)
  int jobs = 2;                 // connections loading table data in parallel
  bool verify_first = true;     // read every file through the verifying pipeline first
  std::string table;            // table-level recovery of this table (as in the manifest)
  bool reindex = false;         // REINDEX what was restored once it is loaded (restore.md)
  std::string create_clauses;   // appended to CREATE DATABASE ... TEMPLATE template0
  // Progress for a progress bar: table data bytes to load (exact, from the manifest) once,
  // then each chunk as it is sent to the server.
  std::function<void(int64_t)> on_total_bytes;
  std::function<void(int64_t)> on_bytes;
};

struct CountCheck {
  std::string table;
  int64_t expected = 0;
  int64_t actual = -1;  // -1: the table does not exist after the restore
};

struct RestoreReport {
  std::string backup_id;
  std::string database;
  std::string restored_table;  // table-level recovery: where the data went
  int files_verified = 0;
  int tables = 0;
  int64_t rows = 0;  // rows loaded, as the server counted them
  int64_t large_objects = 0;
  int reindexed = 0;  // indexes rebuilt by RestoreOptions::reindex
  std::vector<CountCheck> mismatches;
  double seconds = 0;
};

// The mismatches as JSON, for reports and drill records: [{table, expected, actual|null}].
nlohmann::json MismatchesJson(const std::vector<CountCheck>& mismatches);

// Restores `m` into the new database options.into on the server. Before anything is
// created: verifies every file (unless !verify_first; the pipeline's error is returned),
// refuses when the database exists (Refused) or the backup is data-only. Afterwards,
// compares the rows the server stored in each table with the manifest's row_counts:
// mismatches are reported in the result (the database is kept), not as an error.
Result<RestoreReport> RestoreDatabase(repo::Repository& repo, const repo::Manifest& m, const RestoreOptions& options);

// Loads options.table's data from `m` into a new table `<name>_restored` in the same
// schema of the existing database options.into, created LIKE the live table INCLUDING
// ALL, in one transaction. Refused when the database or the live table does not exist or
// the new table already does.
Result<RestoreReport> RestoreTable(repo::Repository& repo, const repo::Manifest& m, const RestoreOptions& options);

// The manifest's table-data files for `table` (as written in the manifest, or unqualified
// for a table in public): one, or the parts of a large table in order; NotFound naming
// the backup otherwise.
Result<std::vector<const repo::ManifestFile*>> FindTableFiles(const repo::Manifest& m, const std::string& table);

}  // namespace pgk::restore
