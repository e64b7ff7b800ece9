// Executes migration plans against a database, one connection, under the migration lock.
// Each transactional file runs in one transaction together with its history row, so a
// failure leaves no trace. A `no-transaction` file is recorded as failed *before* it
// starts and marked successful when it finishes, so a crash or kill in the middle leaves
// the history dirty instead of silently re-running half-applied statements.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "migrate/files.h"
#include "migrate/history.h"
#include "migrate/plan.h"
#include "pg/connection.h"

namespace pgk::migrate {

struct RunnerOptions {
  TableName table;
  double lock_wait_s = 60;         // --lock-timeout: waiting for another run
  int ddl_lock_timeout_ms = 5000;  // session lock_timeout while migrating (0: none)
  int statement_timeout_ms = 0;    // session statement_timeout while migrating (0: none)
  PlanOptions plan;
};

struct StepResult {
  uint64_t version = 0;
  std::string name;
  bool up = true;
  double seconds = 0;
};

struct RunResult {
  std::vector<std::string> notes;  // adoption and other things the user should know
  std::vector<StepResult> steps;
};

using Planner = std::function<Result<std::vector<Step>>(const StatusReport&)>;
using StepObserver = std::function<void(const Step&, const StepResult*)>;  // before (nullptr) and after each step

class Runner {
 public:
  Runner(pg::Connection& conn, const MigrationSet& files, RunnerOptions options)
      : conn_(conn), files_(files), options_(std::move(options)), history_(conn, options_.table) {}

  // Lock, adopt/create the history table, load, plan, refuse when dirty, execute.
  Result<RunResult> Run(const Planner& planner, const StepObserver& observer);

  // Status without writing anything (legacy history tables are read as they are).
  Result<StatusReport> ReadStatus(std::vector<std::string>* notes);

  // Marks `version` as the newest applied state after a manual repair: rows above it are
  // removed and it is marked successful. Refuses versions that are neither on disk nor
  // in the history.
  Result<RunResult> Force(uint64_t version);
  // Marks every file up to `version` as applied without running it (an existing database
  // adopting migrations). Refuses when the history already has rows.
  Result<RunResult> Baseline(uint64_t version);
  // Imports a Flyway or dbmate history into pgkeeper's table.
  Result<RunResult> Import(const std::string& from, const std::string& from_table);

 private:
  Status ApplyStep(const Step& step, StepResult* result);
  Status RunStatements(const MigrationFile& file, const std::string& sql, const std::string& file_name);
  Status SessionSettings();
  Result<std::vector<AppliedMigration>> ReadLegacy(Shape shape, std::vector<std::string>* notes);

  pg::Connection& conn_;
  const MigrationSet& files_;
  RunnerOptions options_;
  History history_;
};

}  // namespace pgk::migrate
