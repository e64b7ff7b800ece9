#include "migrate/runner.h"

#include <chrono>
#include <filesystem>

#include "migrate/lock.h"
#include "migrate/sql_split.h"

namespace pgk::migrate {

namespace {

using Clock = std::chrono::steady_clock;

// 1-based line of a character position (1-based, in characters) within `stmt`,
// counted in the whole file.
int LineOf(const std::string& file_sql, const Statement& stmt, int position) {
  size_t byte = stmt.offset;
  int chars = 1;
  while (byte < file_sql.size() && chars < position) {
    unsigned char c = static_cast<unsigned char>(file_sql[byte]);
    byte += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    ++chars;
  }
  int line = stmt.line;
  for (size_t i = stmt.offset; i < byte && i < file_sql.size(); ++i) line += file_sql[i] == '\n';
  return position > 0 ? line : stmt.line;
}

std::string HintFor(const pg::ServerError& e) {
  if (e.sqlstate == "55P03") return "a table it needs is busy (lock_timeout); retry later or raise --ddl-lock-timeout";
  if (e.sqlstate == "57014") return "the statement ran longer than --statement-timeout; raise it or make it cheaper";
  if (e.sqlstate == "25001") return "mark the file with `-- pgkeeper:no-transaction` as its first line";
  return e.hint;
}

}  // namespace

Status Runner::SessionSettings() {
  // If we are killed mid-statement, the server would otherwise run the statement to its
  // end (holding the migration lock and table locks) before noticing we are gone.
  if (conn_.server_version() >= 140000) PGK_RETURN_IF_ERROR(conn_.Exec("SET client_connection_check_interval = 1000"));
  PGK_RETURN_IF_ERROR(conn_.Exec("SET lock_timeout = " + std::to_string(options_.ddl_lock_timeout_ms)));
  return conn_.Exec("SET statement_timeout = " + std::to_string(options_.statement_timeout_ms));
}

Status Runner::RunStatements(const MigrationFile& file, const std::string& sql, const std::string& file_name) {
  (void)file;
  for (const auto& stmt : SplitStatements(sql)) {
    Status s = conn_.Exec(stmt.text);
    if (!s.ok()) {
      const auto& err = conn_.last_error();
      if (err.sqlstate.empty()) return s.WithContext(file_name);  // lost connection and the like
      std::string msg = file_name + ":" + std::to_string(LineOf(sql, stmt, err.position)) + ": " + err.message +
                        " (SQLSTATE " + err.sqlstate + ")";
      if (!err.detail.empty()) msg += "\ndetail: " + err.detail;
      return Status::Query(msg, HintFor(err));
    }
  }
  return Status::Ok();
}

Status Runner::ApplyStep(const Step& step, StepResult* result) {
  const MigrationFile& f = *step.file;
  bool no_tx = step.up ? f.up_no_transaction : f.down_no_transaction;
  const std::string& sql = step.up ? f.up_sql : f.down_sql;
  std::string file_name = std::filesystem::path(step.up ? f.up_path : f.down_path).filename().string();
  auto started = Clock::now();
  auto elapsed_ms = [&] {
    return static_cast<int64_t>(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
  };
  if (!no_tx) {
    PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn_));
    PGK_RETURN_IF_ERROR(RunStatements(f, sql, file_name));
    if (step.up) {
      PGK_RETURN_IF_ERROR(history_.Insert({.version = f.version,
                                           .name = f.title,
                                           .checksum = f.checksum,
                                           .duration_ms = elapsed_ms(),
                                           .success = true}));
    } else {
      PGK_RETURN_IF_ERROR(history_.Delete(f.version));
    }
    PGK_RETURN_IF_ERROR(tx.Commit());
  } else {
    // Dirty first: if we die mid-file, the history says so.
    if (step.up) {
      PGK_RETURN_IF_ERROR(history_.Insert({.version = f.version,
                                           .name = f.title,
                                           .checksum = f.checksum,
                                           .success = false,
                                           .no_transaction = true,
                                           .error = "interrupted while running (no-transaction)"}));
    } else {
      PGK_RETURN_IF_ERROR(
          history_.MarkFinished(f.version, false, 0, "interrupted while rolling back (no-transaction)"));
    }
    Status s = RunStatements(f, sql, file_name);
    if (!s.ok()) {
      std::string first_line = s.message().substr(0, s.message().find('\n'));
      (void)history_.MarkFinished(f.version, false, elapsed_ms(), first_line);
      std::string prev = "0";
      for (const auto& other : files_.files)
        if (other.version < f.version) prev = std::to_string(other.version);
      return Status(s.code(),
                    s.message() + "\nthe migration ran outside a transaction, so part of it may be applied; " +
                        options_.table.Display() + " now marks version " + std::to_string(f.version) + " as failed",
                    "repair the database by hand, then run `pgkeeper migrate force " + std::to_string(f.version) +
                        "` if its changes are complete, or `pgkeeper migrate force " + prev + "` if you undid them");
    }
    if (step.up) {
      PGK_RETURN_IF_ERROR(history_.MarkFinished(f.version, true, elapsed_ms(), ""));
    } else {
      PGK_RETURN_IF_ERROR(history_.Delete(f.version));
    }
  }
  result->version = f.version;
  result->name = f.DisplayName();
  result->up = step.up;
  result->seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return Status::Ok();
}

Result<RunResult> Runner::Run(const Planner& planner, const StepObserver& observer) {
  PGK_ASSIGN_OR_RETURN(auto lock, MigrationLock::Acquire(conn_, options_.table, options_.lock_wait_s));
  RunResult result;
  PGK_RETURN_IF_ERROR(history_.Ensure(files_, &result.notes));
  // Read the history only now, under the lock: a run that waited sees what the previous
  // one applied and has nothing left to do.
  PGK_ASSIGN_OR_RETURN(auto rows, history_.Load());
  StatusReport status = BuildStatus(files_, rows);
  PGK_RETURN_IF_ERROR(CheckNotDirty(status, options_.table));
  PGK_ASSIGN_OR_RETURN(auto steps, planner(status));
  PGK_RETURN_IF_ERROR(SessionSettings());
  for (const auto& step : steps) {
    if (observer) observer(step, nullptr);
    StepResult sr;
    Status s = ApplyStep(step, &sr);
    if (!s.ok()) return s;
    if (observer) observer(step, &sr);
    result.steps.push_back(sr);
  }
  return result;
}

Result<std::vector<AppliedMigration>> Runner::ReadLegacy(Shape shape, std::vector<std::string>* notes) {
  std::vector<AppliedMigration> rows;
  std::string qt = options_.table.Quoted();
  if (shape == Shape::kGolangMigrate) {
    PGK_ASSIGN_OR_RETURN(auto r, conn_.Query("SELECT version, dirty FROM " + qt));
    if (r.rows() == 0) return rows;
    uint64_t current = static_cast<uint64_t>(r.GetInt(0, 0));
    bool dirty = r.GetBool(0, 1);
    for (const auto& f : files_.files) {
      if (f.version > current) break;
      rows.push_back({.version = f.version,
                      .name = f.title,
                      .success = f.version != current || !dirty,
                      .source = "golang-migrate"});
    }
    if (!files_.Find(current))
      rows.push_back({.version = current, .name = "", .success = !dirty, .source = "golang-migrate"});
    notes->push_back(options_.table.Display() + " is a golang-migrate table at version " + std::to_string(current) +
                     (dirty ? " (dirty)" : "") + "; the next writing command upgrades it to pgkeeper's format");
  } else if (shape == Shape::kSimple) {
    PGK_ASSIGN_OR_RETURN(auto r, conn_.Query("SELECT substring(version::text from '^[0-9]+') FROM " + qt));
    for (int i = 0; i < r.rows(); ++i) {
      if (r.IsNull(i, 0)) continue;
      rows.push_back({.version = std::stoull(r.GetString(i, 0)), .source = "simple"});
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    notes->push_back(options_.table.Display() + " is a simple history table with " + std::to_string(rows.size()) +
                     " versions; the next writing command upgrades it to pgkeeper's format");
  }
  return rows;
}

Result<StatusReport> Runner::ReadStatus(std::vector<std::string>* notes) {
  PGK_ASSIGN_OR_RETURN(Shape shape, history_.DetectShape());
  std::vector<AppliedMigration> rows;
  if (shape == Shape::kPgkeeper) {
    PGK_ASSIGN_OR_RETURN(rows, history_.Load());
  } else if (shape == Shape::kGolangMigrate || shape == Shape::kSimple) {
    PGK_ASSIGN_OR_RETURN(rows, ReadLegacy(shape, notes));
  } else if (shape == Shape::kUnknown) {
    return Status::Refused("table " + options_.table.Display() + " exists but is not a migration history table",
                           "name the history table with --table (or migrations.table)");
  }
  return BuildStatus(files_, rows);
}

Result<RunResult> Runner::Force(uint64_t version) {
  PGK_ASSIGN_OR_RETURN(auto lock, MigrationLock::Acquire(conn_, options_.table, options_.lock_wait_s));
  RunResult result;
  PGK_RETURN_IF_ERROR(history_.Ensure(files_, &result.notes));
  PGK_ASSIGN_OR_RETURN(auto rows, history_.Load());
  const MigrationFile* f = files_.Find(version);
  bool in_history = false;
  for (const auto& r : rows) in_history = in_history || r.version == version;
  if (version != 0 && !f && !in_history) {
    return Status::NotFound("unknown version " + std::to_string(version) + ": no migration file and no history row",
                            "run `pgkeeper migrate status` to see the versions");
  }
  PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn_));
  PGK_RETURN_IF_ERROR(history_.DeleteAbove(version));
  if (version != 0) {
    if (in_history) {
      PGK_ASSIGN_OR_RETURN(auto upd, conn_.Query("UPDATE " + options_.table.Quoted() +
                                                     " SET success = true, error = NULL, applied_at = now(), "
                                                     "checksum = coalesce($2, checksum) WHERE version = $1",
                                                 {std::to_string(version), f ? pg::Param(f->checksum) : pg::Param()}));
      (void)upd;
    } else {
      PGK_RETURN_IF_ERROR(history_.Insert(
          {.version = version, .name = f->title, .checksum = f->checksum, .success = true, .source = "force"}));
    }
  }
  PGK_RETURN_IF_ERROR(tx.Commit());
  result.notes.push_back("forced " + options_.table.Display() + " to version " + std::to_string(version) +
                         "; nothing was run");
  return result;
}

Result<RunResult> Runner::Baseline(uint64_t version) {
  PGK_ASSIGN_OR_RETURN(auto lock, MigrationLock::Acquire(conn_, options_.table, options_.lock_wait_s));
  RunResult result;
  if (!files_.Find(version)) {
    return Status::NotFound("no migration file with version " + std::to_string(version),
                            "baseline names the newest migration the existing database already has");
  }
  PGK_RETURN_IF_ERROR(history_.Ensure(files_, &result.notes));
  PGK_ASSIGN_OR_RETURN(auto rows, history_.Load());
  if (!rows.empty()) {
    return Status::Refused(options_.table.Display() + " already records " + std::to_string(rows.size()) +
                               " migrations; baseline is for a database with no history",
                           "use `pgkeeper migrate force V` to move an existing history");
  }
  PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn_));
  int n = 0;
  for (const auto& f : files_.files) {
    if (f.version > version) break;
    PGK_RETURN_IF_ERROR(history_.Insert(
        {.version = f.version, .name = f.title, .checksum = f.checksum, .success = true, .source = "baseline"}));
    ++n;
  }
  PGK_RETURN_IF_ERROR(tx.Commit());
  result.notes.push_back("baselined " + std::to_string(n) + " migration(s) up to version " + std::to_string(version) +
                         " as applied; none was run");
  return result;
}

}  // namespace pgk::migrate
