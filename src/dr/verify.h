// The checklist `dr` runs on what it restored, for real: a connection, every table's row
// count against the backup's manifest, the migration state against the backup's, and
// (run by the caller, it is a command of its own) `schema check`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgk::dr {

struct Check {
  std::string name;  // "connect", "row counts", "migrations", "schema"
  bool ok = false;
  bool skipped = false;
  std::string detail;  // what was found
};

struct VerifyInput {
  std::string conninfo;                       // the restored database
  std::map<std::string, int64_t> row_counts;  // the manifest's (empty: physical backups)
  std::optional<uint64_t> migration_version;  // the manifest's
  std::string migrations_table = "public.schema_migrations";
};

// Runs connect, row counts and migrations. Never an error: a failed check is a Check with
// ok = false (a failed connection skips the others).
std::vector<Check> VerifyRestored(const VerifyInput& in);

bool AllPassed(const std::vector<Check>& checks);

}  // namespace pgk::dr
