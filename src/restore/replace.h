// `restore --replace DB` (docs/commands/restore.md): a backup restored over an existing
// database without ever leaving it half-replaced. The backup is verified, a safety backup
// of DB is taken, the backup is restored into a temporary database beside DB, and only
// when every count matches are the two swapped by renaming them in one transaction; the
// old database is then dropped (or kept). Any failure before the swap — a bad file, a
// failing statement, a count mismatch, a session that reconnected, an interrupt — leaves
// DB untouched and drops the temporary database.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/manifest.h"
#include "repo/repository.h"
#include "restore/restore.h"

namespace pgk::restore {

struct ReplaceOptions {
  std::string server_conninfo;  // any database on the server (replace moves off DB itself)
  std::string database;         // the database to replace
  int jobs = 2;
  bool terminate_sessions = false;  // disconnect DB's sessions (else refuse while there are any)
  bool keep_old = false;            // keep the replaced database under OldName() instead of dropping it
  bool reindex = false;
  // Progress of the data load into the temporary database (see RestoreOptions).
  std::function<void(int64_t)> on_total_bytes;
  std::function<void(int64_t)> on_bytes;
  // Called once the checks have passed and before anything is changed: the confirmation.
  std::function<Status()> confirm;
  // Takes the safety backup of DB (given a conninfo to it) and returns its id; unset: none.
  std::function<Result<std::string>(const std::string& conninfo)> safety_backup;
};

struct ReplaceReport {
  RestoreReport restore;  // restore.database is the temporary database's name
  bool replaced = false;  // false: the counts differ, DB is untouched, the copy was dropped
  std::string safety_backup;
  int terminated_sessions = 0;
  std::vector<std::string> dropped_leftovers;  // temporary databases of killed earlier runs
  std::string old_database;                    // with keep_old: where the replaced database went
  std::string old_not_dropped;                 // why the old database could not be dropped
  double swap_seconds = 0;                     // DB's unavailability: both renames
};

// The prefix of every temporary database of a replace of `db`:
// "pgkeeper_replace_<FNV-1a of db, 8 hex>_" (a random suffix follows), so that an earlier
// run's leftover is recognisable as belonging to this database whatever its name.
std::string TemporaryPrefix(const std::string& db);

// "<db>_old_<UTC YYYYMMDDTHHMMSS>", with db shortened to fit PostgreSQL's 63 bytes.
std::string OldName(const std::string& db, int64_t epoch_s);

// Refusals (exit 2), before confirm is called: DB does not exist; the backup has no
// schema; other sessions are connected (without terminate_sessions), naming how many and
// from which applications; another replace of DB is running.
Result<ReplaceReport> ReplaceDatabase(repo::Repository& repo, const repo::Manifest& m, const ReplaceOptions& options);

}  // namespace pgk::restore
