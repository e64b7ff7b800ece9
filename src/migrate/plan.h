// Pure logic: the state of every migration (files vs history) and the plans of up, down
// and goto, with the safety rules that refuse a plan. No I/O: unit-tested directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "migrate/files.h"
#include "migrate/history.h"

namespace pgk::migrate {

enum class State {
  kApplied,  // in history, file unchanged
  kPending,  // file not in history
  kMissing,  // in history, no file on disk
  kChanged,  // in history, file changed since it was applied
  kFailed,   // in history with success = false (dirty)
};
const char* StateName(State s);

struct Entry {
  uint64_t version = 0;
  std::string name;
  State state = State::kPending;
  const MigrationFile* file = nullptr;
  std::optional<AppliedMigration> applied;
};

struct StatusReport {
  std::vector<Entry> entries;       // ordered by version
  std::optional<uint64_t> current;  // highest successfully applied version
  std::optional<uint64_t> failed;   // a dirty version, if any
  int Count(State s) const;
  const Entry* Find(uint64_t version) const;
};

// Compares files with history. Checksums "sha256:..." are compared with the file's
// SHA-256, "flyway-crc32:N" with its Flyway checksum; an empty checksum is not compared.
StatusReport BuildStatus(const MigrationSet& files, const std::vector<AppliedMigration>& history);

struct Step {
  const MigrationFile* file = nullptr;
  bool up = true;
};

struct PlanOptions {
  bool allow_changed = false;
  bool allow_out_of_order = false;
};

// Refuses (exit 2) while a migration is failed: the message names the exact
// `pgkeeper migrate force` commands that clear it.
Status CheckNotDirty(const StatusReport& status, const TableName& table);

// Up to `n` pending migrations in version order (all when n == 0). Refuses when an
// applied file changed (unless allow_changed) or a pending version is older than the
// newest applied one (unless allow_out_of_order).
Result<std::vector<Step>> PlanUp(const StatusReport& status, int n, const PlanOptions& options);
// The newest `n` applied migrations, newest first (all when `all`). Refuses when fewer
// than n are applied, or when one of them has no down migration.
Result<std::vector<Step>> PlanDown(const StatusReport& status, int n, bool all);
// Up or down until `version` is the newest applied one (0: everything down).
Result<std::vector<Step>> PlanGoto(const StatusReport& status, uint64_t version, const PlanOptions& options);

}  // namespace pgk::migrate
