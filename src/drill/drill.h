// Restore drills (docs/commands/drill.md): a backup restored into a scratch database,
// checked against the manifest's row counts and, when the live database has not moved on,
// against the live schema; then dropped (unless kept) and recorded in the repository.
// Where the scratch database lives (the embedded cluster or a server) is the caller's
// choice: this module only needs a server conninfo.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/manifest.h"
#include "repo/repository.h"
#include "restore/restore.h"

namespace pgk::drill {

struct DrillOptions {
  std::string server_conninfo;   // any database on the server that gets the scratch database
  std::string live_conninfo;     // the live database, for the schema comparison ("" to skip it)
  std::string target = "local";  // recorded as is: "local" or "server"
  int jobs = 2;
  bool keep = false;  // leave the scratch database for inspection
};

struct DrillReport {
  std::string backup_id;
  std::string database;  // the scratch database
  std::string target;
  std::string started;  // ISO 8601 UTC
  double seconds = 0;   // restore time, creation to counted (the RTO measured)
  int tables = 0;
  int64_t rows = 0;
  std::vector<restore::CountCheck> mismatches;
  bool schema_compared = false;
  std::string schema_note;                      // why it was not compared, when it was not
  std::string schema_compared_with;             // "the backup's recorded schema" | "the live database"
  std::vector<std::string> schema_differences;  // errors only, as readable sentences
  bool kept = false;
  std::string record_path;  // where the drill record went in the repository
  bool passed() const { return mismatches.empty() && schema_differences.empty(); }
};

// "pgkeeper_drill_<16 random hex digits>".
std::string ScratchDatabaseName();

// Restores `m` into a new scratch database on options.server_conninfo and checks it. The
// scratch database is dropped before returning unless options.keep (also on failure, and
// on interrupt). A failing check is reported in the result, not as an error; errors are
// the restore's own (verification, connection, ...). Does not write the record.
Result<DrillReport> RunDrill(repo::Repository& repo, const repo::Manifest& m, const DrillOptions& options);

// The drill record, as stored.
nlohmann::json RecordJson(const DrillReport& r);

// Writes the record atomically to drills/<UTC time>-<backup id>.json and sets
// report->record_path.
Status StoreRecord(repo::Repository& repo, DrillReport* report);

}  // namespace pgk::drill
