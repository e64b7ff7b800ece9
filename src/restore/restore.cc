#include "restore/restore.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "common/interrupt.h"
#include "common/log.h"
#include "common/parallel.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "pg/quote.h"
#include "restore/globals.h"
#include "restore/load.h"
#include "restore/post_data.h"
#include "restore/reindex.h"
#include "restore/script.h"
#include "restore/verify.h"

namespace pgk::restore {

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

bool HasOption(const repo::Manifest& m, const std::string& option) {
  return std::find(m.options.begin(), m.options.end(), option) != m.options.end();
}

std::vector<const repo::ManifestFile*> FilesOfKind(const repo::Manifest& m, const std::string& kind) {
  std::vector<const repo::ManifestFile*> out;
  for (const auto& f : m.files)
    if (f.kind == kind) out.push_back(&f);
  return out;
}

// The manifest's table name re-rendered from its parts: the same text for a well-formed
// name, and never anything but a qualified identifier, whatever the manifest holds.
Result<std::string> SafeTable(const std::string& table) {
  PGK_ASSIGN_OR_RETURN(auto parts, SplitQualifiedName(table));
  return pg::QuoteQualified(parts.first, parts.second);
}

Result<pg::Connection> ConnectTo(const std::string& server, const std::string& db) {
  PGK_ASSIGN_OR_RETURN(std::string conninfo, pg::WithDatabase(server, db));
  return pg::Connection::Connect(conninfo, {.application_name = "pgkeeper-restore", .portable_output = true});
}

Result<bool> DatabaseExists(pg::Connection& conn, const std::string& name) {
  PGK_ASSIGN_OR_RETURN(auto r, conn.Query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", {name}));
  return r.rows() > 0;
}

// Data loads need no durability until the restore completes (a crash means starting over
// and the database is dropped anyway), and must not be cut short by the role's timeouts.
Status PrepareLoadSession(pg::Connection& conn) {
  return conn.Exec(
      "SET synchronous_commit = off; SET statement_timeout = 0; SET lock_timeout = 0; "
      "SET idle_in_transaction_session_timeout = 0");
}

// Whether `table` can be loaded frozen: an ordinary table (COPY FREEZE refuses partitioned
// ones) that this role may TRUNCATE, the step that makes FREEZE legal in the transaction.
Result<bool> CanLoadFrozen(pg::Connection& conn, const std::string& table) {
  PGK_ASSIGN_OR_RETURN(std::string v, conn.QueryValue("SELECT c.relkind = 'r' AND pg_catalog.has_table_privilege("
                                                      "c.oid, 'TRUNCATE') FROM pg_catalog.pg_class c "
                                                      "WHERE c.oid = $1::regclass",
                                                      {table}));
  return v == "t";
}

// One table's files (a large table is stored in parts) in one transaction on `conn`. The
// table was created empty by this restore's pre-data, so it is truncated first, which lets
// COPY write its rows frozen: otherwise the first statement to read each page afterwards
// (the primary key's build) sets hint bits on every tuple, writing the whole table again
// and, on a cluster with data checksums, a full-page image of it into the WAL (pgbench
// scale 100: 1.6 GB of WAL and 8.9 s for the primary key, against 0.2 GB and 4.8 s). The
// price is that a table's parts load one after the other, as pg_restore loads a table.
// Returns the rows the server stored.
Result<int64_t> LoadTable(pg::Connection& conn, const std::vector<const repo::ManifestFile*>& parts,
                          repo::Repository& repo, const repo::Manifest& m, const pipeline::Key* key,
                          const std::atomic<bool>& stop, const std::function<void(int64_t)>& on_bytes) {
  PGK_ASSIGN_OR_RETURN(std::string table, SafeTable(parts.front()->table));
  PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn));
  PGK_ASSIGN_OR_RETURN(bool frozen, CanLoadFrozen(conn, table));
  if (frozen) PGK_RETURN_IF_ERROR(conn.Exec("TRUNCATE ONLY " + table));
  int64_t rows = 0;
  for (const auto* part : parts) {
    PGK_ASSIGN_OR_RETURN(int64_t n, CopyIntoTable(conn, table, repo, m, *part, key, &stop, &on_bytes, frozen));
    rows += n;
  }
  PGK_RETURN_IF_ERROR(tx.Commit());
  log::Debug("loaded {} ({} rows{})", table, rows, frozen ? ", frozen" : "");
  return rows;
}

// Loads every table on `jobs` connections, largest first, and returns the rows the server
// stored per table (the manifest's names).
Result<std::map<std::string, int64_t>> LoadTables(repo::Repository& repo, const repo::Manifest& m,
                                                  const pipeline::Key* key, const std::string& server,
                                                  const std::string& db, int jobs,
                                                  const std::function<void(int64_t)>& on_bytes) {
  std::map<std::string, std::vector<const repo::ManifestFile*>> by_table;
  std::map<std::string, uint64_t> bytes;
  for (const auto* f : FilesOfKind(m, "table-data")) {
    by_table[f->table].push_back(f);
    bytes[f->table] += f->original_size;
  }
  std::vector<const std::vector<const repo::ManifestFile*>*> tables;
  for (const auto& [name, parts] : by_table) tables.push_back(&parts);
  // Largest first: the longest load starts at once instead of finishing last alone.
  std::stable_sort(tables.begin(), tables.end(),
                   [&](const auto* a, const auto* b) { return bytes[a->front()->table] > bytes[b->front()->table]; });
  std::vector<std::optional<pg::Connection>> conns(static_cast<size_t>(std::max(jobs, 1)));
  std::mutex mu;
  std::map<std::string, int64_t> loaded;
  std::atomic<bool> stop{false};  // also cuts the other tables' COPY short
  Status s = ParallelForEach(tables.size(), jobs, [&](int w, size_t i) -> Status {
    auto& conn = conns[static_cast<size_t>(w)];
    auto rows = [&]() -> Result<int64_t> {
      if (!conn) {
        PGK_ASSIGN_OR_RETURN(pg::Connection c, ConnectTo(server, db));
        conn.emplace(std::move(c));
        PGK_RETURN_IF_ERROR(PrepareLoadSession(*conn));
      }
      return LoadTable(*conn, *tables[i], repo, m, key, stop, on_bytes);
    }();
    if (!rows.ok()) {
      stop = true;
      return rows.status();
    }
    std::lock_guard<std::mutex> lock(mu);
    loaded[tables[i]->front()->table] = *rows;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return loaded;
}

// Rows of `table` alone, as the backup counted them; -1 when it does not exist. A
// partitioned table holds no rows itself, so it is counted with its partitions.
Result<int64_t> CountRows(pg::Connection& conn, const std::string& table) {
  PGK_ASSIGN_OR_RETURN(auto parts, SplitQualifiedName(table));
  PGK_ASSIGN_OR_RETURN(auto kind,
                       conn.Query("SELECT c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                                  "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                                  {parts.first, parts.second}));
  if (kind.rows() == 0) return int64_t{-1};
  std::string only = kind.GetString(0, 0) == "p" ? "" : "ONLY ";
  PGK_ASSIGN_OR_RETURN(std::string n,
                       conn.QueryValue("SELECT count(*) FROM " + only + pg::QuoteQualified(parts.first, parts.second)));
  return static_cast<int64_t>(std::stoll(n));
}

// Each table's rows against the manifest: the server's count of what its COPY stored (exact,
// and free, where count(*) would read every table again), or count(*) for a table that
// had no data file to load.
Status CheckCounts(pg::Connection& conn, const repo::Manifest& m, const std::map<std::string, int64_t>& loaded,
                   RestoreReport* report) {
  for (const auto& [table, expected] : m.row_counts) {
    auto it = loaded.find(table);
    int64_t actual = 0;
    if (it != loaded.end()) {
      actual = it->second;
    } else {
      PGK_ASSIGN_OR_RETURN(actual, CountRows(conn, table));
    }
    if (actual > 0) report->rows += actual;
    if (actual != expected) report->mismatches.push_back({table, expected, actual});
  }
  return Status::Ok();
}

// Index builds are sorts: give them the memory that lets the server use parallel workers
// (each needs 32 MB of maintenance_work_mem), unless the server is configured higher.
Status PrepareBuildSession(pg::Connection& conn) {
  PGK_RETURN_IF_ERROR(PrepareLoadSession(conn));
  return conn.Exec(
      "SELECT CASE WHEN pg_catalog.pg_size_bytes(pg_catalog.current_setting('maintenance_work_mem')) < 268435456 "
      "THEN pg_catalog.set_config('maintenance_work_mem', '256MB', false) END");
}

// The post-data script with its index builds spread over `jobs` connections (largest
// tables first), then the rest on `conn`. See post_data.h for what is reordered.
Status ApplyPostData(pg::Connection& conn, repo::Repository& repo, const repo::Manifest& m, const repo::ManifestFile& f,
                     const pipeline::Key* key, const RestoreOptions& o) {
  PGK_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(repo, m, f, key));
  PGK_ASSIGN_OR_RETURN(std::string sql, StripPsqlMetaCommands(text, repo::BackupDir(m.id) + f.name));
  PostDataPlan plan = PlanPostData(sql);
  std::map<std::pair<std::string, std::string>, uint64_t> bytes;
  for (const auto* t : FilesOfKind(m, "table-data")) {
    auto parts = SplitQualifiedName(t->table);
    if (parts.ok()) bytes[*parts] += t->original_size;
  }
  std::stable_sort(plan.builds.begin(), plan.builds.end(),
                   [&](const TableBuilds& a, const TableBuilds& b) { return bytes[a.table] > bytes[b.table]; });
  std::vector<std::optional<pg::Connection>> conns(static_cast<size_t>(std::max(o.jobs, 1)));
  // Once one build fails the restore has failed: the other workers stop after the
  // statement they are in rather than build the rest of their table's indexes for nothing.
  std::atomic<bool> failed{false};
  Status built = ParallelForEach(plan.builds.size(), o.jobs, [&](int w, size_t i) -> Status {
    auto& c = conns[static_cast<size_t>(w)];
    Status s = [&]() -> Status {
      if (!c) {
        PGK_ASSIGN_OR_RETURN(pg::Connection made, ConnectTo(o.server_conninfo, o.into));
        c.emplace(std::move(made));
        PGK_RETURN_IF_ERROR(PrepareBuildSession(*c));
      }
      for (const auto& statement : plan.builds[i].statements) {
        if (failed) return Status::Ok();
        PGK_RETURN_IF_ERROR(c->Exec(statement));
      }
      return Status::Ok();
    }();
    if (!s.ok()) failed = true;
    return s;
  });
  if (!built.ok()) return built.WithContext("applying " + f.name);
  PGK_RETURN_IF_ERROR(PrepareBuildSession(conn));
  Status s = conn.Exec(plan.rest);
  if (!s.ok()) return s.WithContext("applying " + f.name);
  return s;
}

Status Phase(const char* name, const std::function<Status()>& fn) {
  auto t0 = Clock::now();
  Status s = fn();
  if (s.ok()) log::Debug("{} done in {:.2f} s", name, Since(t0));
  return s;
}

// Everything after CREATE DATABASE; any error makes the caller drop the database.
Status Fill(repo::Repository& repo, const repo::Manifest& m, const pipeline::Key* key, const RestoreOptions& o,
            RestoreReport* report) {
  PGK_ASSIGN_OR_RETURN(pg::Connection conn, ConnectTo(o.server_conninfo, o.into));
  PGK_RETURN_IF_ERROR(PrepareLoadSession(conn));
  // pg_dump scripts set search_path to '' for the session; RESET ALL after each script
  // gives the next step the database's defaults back.
  for (const auto* f : FilesOfKind(m, "schema-pre")) {
    log::Info("pre-data: creating the schema from {}", f->name);
    PGK_RETURN_IF_ERROR(Phase("pre-data", [&] { return ApplyScript(conn, repo, m, *f, key); }));
    PGK_RETURN_IF_ERROR(conn.Exec("RESET ALL"));
    PGK_RETURN_IF_ERROR(PrepareLoadSession(conn));
  }
  auto tables = FilesOfKind(m, "table-data");
  std::map<std::string, int64_t> loaded;  // rows stored per table
  std::set<std::string> distinct;         // a large table is stored in several parts
  for (const auto* f : tables) distinct.insert(f->table);
  report->tables = static_cast<int>(distinct.size());
  if (!tables.empty()) {
    uint64_t bytes = 0;
    for (const auto* f : tables) bytes += f->original_size;
    if (o.on_total_bytes) o.on_total_bytes(static_cast<int64_t>(bytes));
    log::Info("data: loading {} tables ({} files, {} bytes) on {} connections", distinct.size(), tables.size(), bytes,
              std::min<size_t>(tables.size(), static_cast<size_t>(std::max(o.jobs, 1))));
    PGK_RETURN_IF_ERROR(Phase("data", [&]() -> Status {
      PGK_ASSIGN_OR_RETURN(loaded, LoadTables(repo, m, key, o.server_conninfo, o.into, o.jobs, o.on_bytes));
      return Status::Ok();
    }));
  }
  for (const auto* f : FilesOfKind(m, "sequences")) {
    log::Info("sequences: setting values from {}", f->name);
    PGK_RETURN_IF_ERROR(Phase("sequences", [&] { return ApplyScript(conn, repo, m, *f, key); }));
    PGK_RETURN_IF_ERROR(conn.Exec("RESET ALL"));
  }
  for (const auto* f : FilesOfKind(m, "large-objects")) {
    log::Info("large objects: writing {}", f->name);
    auto n = LoadLargeObjects(conn, repo, m, *f, key);
    if (!n.ok()) return n.status();
    report->large_objects += *n;
  }
  for (const auto* f : FilesOfKind(m, "schema-post")) {
    log::Info("post-data: indexes, constraints and triggers from {}", f->name);
    PGK_RETURN_IF_ERROR(Phase("post-data", [&] { return ApplyPostData(conn, repo, m, *f, key, o); }));
    PGK_RETURN_IF_ERROR(conn.Exec("RESET ALL"));
  }
  log::Info("analyze: collecting planner statistics");
  PGK_RETURN_IF_ERROR(conn.Exec("ANALYZE"));
  if (!HasOption(m, "schema-only")) {
    log::Info("checking row counts of {} tables against the manifest", m.row_counts.size());
    PGK_RETURN_IF_ERROR(CheckCounts(conn, m, loaded, report));
  }
  return Status::Ok();
}

Status DropDatabase(const std::string& server, const std::string& db) {
  PGK_ASSIGN_OR_RETURN(pg::Connection admin, pg::Connection::Connect(server, {.application_name = "pgkeeper-restore"}));
  return admin.Exec("DROP DATABASE IF EXISTS " + pg::QuoteIdent(db) + " WITH (FORCE)");
}

Status Reindex(const RestoreOptions& o, RestoreReport* report) {
  log::Info("reindex: rebuilding every index of {}", o.into);
  PGK_ASSIGN_OR_RETURN(pg::Connection conn, ConnectTo(o.server_conninfo, o.into));
  PGK_ASSIGN_OR_RETURN(report->reindexed, ReindexDatabase(conn));
  return Status::Ok();
}

Result<const pipeline::Key*> VerifyFirst(repo::Repository& repo, const repo::Manifest& m,
                                         const std::optional<pipeline::Key>& key,
                                         const std::vector<const repo::ManifestFile*>& files, const RestoreOptions& o,
                                         RestoreReport* report) {
  const pipeline::Key* k = key ? &*key : nullptr;
  if (!o.verify_first) return k;
  size_t n = files.empty() ? m.files.size() : files.size();
  log::Info("verifying {} files of backup {} before touching the server", n, m.id);
  auto verdicts = VerifyFiles(repo, m, k, files, o.jobs);
  PGK_RETURN_IF_ERROR(FirstFailure(verdicts));
  report->files_verified = static_cast<int>(verdicts.size());
  return k;
}

}  // namespace

Result<std::vector<const repo::ManifestFile*>> FindTableFiles(const repo::Manifest& m, const std::string& table) {
  std::pair<std::string, std::string> want;
  auto parsed = SplitQualifiedName(table);
  if (parsed.ok()) {
    want = *parsed;
  } else {
    std::string name = table;
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    } else {
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    }
    want = {"public", name};
  }
  // A large table is stored in several parts (block ranges), all with the same table.
  std::vector<const repo::ManifestFile*> out;
  for (const auto& f : m.files) {
    if (f.kind != "table-data") continue;
    if (!out.empty()) {
      if (f.table == out.front()->table) out.push_back(&f);
      continue;
    }
    auto parts = SplitQualifiedName(f.table);
    if (f.table == table || (parts.ok() && *parts == want)) out.push_back(&f);
  }
  if (!out.empty()) return out;
  return Status::NotFound("backup " + m.id + " has no data for table " + table,
                          "`pgkeeper backups show " + m.id + "` lists its tables");
}

Result<RestoreReport> RestoreDatabase(repo::Repository& repo, const repo::Manifest& m, const RestoreOptions& o) {
  auto t0 = Clock::now();
  RestoreReport report;
  report.backup_id = m.id;
  report.database = o.into;
  PGK_RETURN_IF_ERROR(RefuseUnlessLogical(m));
  if (o.into.empty()) return Status::InvalidArgument("no database to restore into", "pass --into NEWDB");
  if (HasOption(m, "data-only") || FilesOfKind(m, "schema-pre").empty()) {
    return Status::Refused("backup " + m.id + " has no schema (data-only): it cannot make a new database",
                           "restore one table into a database that has its schema with --table T --into DB");
  }
  PGK_ASSIGN_OR_RETURN(auto key, repo.DataKey(m));
  PGK_ASSIGN_OR_RETURN(const pipeline::Key* k, VerifyFirst(repo, m, key, {}, o, &report));

  PGK_ASSIGN_OR_RETURN(pg::Connection admin,
                       pg::Connection::Connect(o.server_conninfo, {.application_name = "pgkeeper-restore"}));
  PGK_ASSIGN_OR_RETURN(bool exists, DatabaseExists(admin, o.into));
  if (exists) {
    return Status::Refused("database " + o.into + " already exists on " + admin.display(),
                           "choose another name with --into; restore never writes into an existing database");
  }
  log::Info("creating database {}", o.into);
  std::string clauses = o.create_clauses.empty() ? "" : " " + o.create_clauses;
  PGK_RETURN_IF_ERROR(admin.Exec("CREATE DATABASE " + pg::QuoteIdent(o.into) + " TEMPLATE template0" + clauses));
  // From here on the database is ours: any failure or interrupt drops it.
  std::string server = o.server_conninfo, db = o.into;
  int hook = AddCleanupHook([server, db] { (void)DropDatabase(server, db); });
  Status s = Fill(repo, m, k, o, &report);
  if (s.ok() && o.reindex) s = Reindex(o, &report);
  if (!s.ok()) {
    log::Info("restore failed: dropping the half-restored database {}", db);
    Status dropped = admin.Exec("DROP DATABASE IF EXISTS " + pg::QuoteIdent(db) + " WITH (FORCE)");
    RemoveCleanupHook(hook);
    std::string what = dropped.ok() ? "; the half-restored database " + db + " was dropped"
                                    : "; the half-restored database " + db + " could not be dropped (" +
                                          dropped.message() + "): drop it by hand";
    return Status(s.code(), s.message() + what, s.hint());
  }
  RemoveCleanupHook(hook);
  report.seconds = Since(t0);
  return report;
}

Result<RestoreReport> RestoreTable(repo::Repository& repo, const repo::Manifest& m, const RestoreOptions& o) {
  auto t0 = Clock::now();
  RestoreReport report;
  report.backup_id = m.id;
  report.database = o.into;
  PGK_RETURN_IF_ERROR(RefuseUnlessLogical(m));
  if (o.into.empty()) return Status::InvalidArgument("--table needs --into DB, an existing database");
  PGK_ASSIGN_OR_RETURN(auto files, FindTableFiles(m, o.table));
  const repo::ManifestFile* f = files.front();
  PGK_ASSIGN_OR_RETURN(auto parts, SplitQualifiedName(f->table));
  PGK_ASSIGN_OR_RETURN(auto key, repo.DataKey(m));
  PGK_ASSIGN_OR_RETURN(const pipeline::Key* k, VerifyFirst(repo, m, key, files, o, &report));

  std::string live = pg::QuoteQualified(parts.first, parts.second);
  std::string new_name = parts.second + "_restored";
  if (new_name.size() > 63) {
    return Status::Refused("the table name " + new_name + " would be longer than PostgreSQL's 63 bytes",
                           "rename the live table, or restore the whole backup into a new database");
  }
  std::string target = pg::QuoteQualified(parts.first, new_name);
  {
    PGK_ASSIGN_OR_RETURN(pg::Connection admin,
                         pg::Connection::Connect(o.server_conninfo, {.application_name = "pgkeeper-restore"}));
    PGK_ASSIGN_OR_RETURN(bool exists, DatabaseExists(admin, o.into));
    if (!exists) {
      return Status::Refused("database " + o.into + " does not exist on " + admin.display(),
                             "--table loads into an existing database that has the table's schema; restore the "
                             "whole backup into a new database instead");
    }
  }
  PGK_ASSIGN_OR_RETURN(pg::Connection conn, ConnectTo(o.server_conninfo, o.into));
  PGK_RETURN_IF_ERROR(PrepareLoadSession(conn));
  PGK_ASSIGN_OR_RETURN(auto regs,
                       conn.Query("SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL", {live, target}));
  if (!regs.GetBool(0, 0)) {
    return Status::Refused("table " + f->table + " does not exist in " + o.into,
                           "--table creates the copy LIKE the live table; restore the whole backup into a new "
                           "database instead");
  }
  if (regs.GetBool(0, 1)) {
    return Status::Refused("table " + target + " already exists in " + o.into,
                           "drop or rename it (an earlier recovery?) and run again");
  }
  log::Info("creating {} like {} and loading {} rows", target, live, f->rows);
  {
    PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn));
    PGK_RETURN_IF_ERROR(conn.Exec("CREATE TABLE " + target + " (LIKE " + live + " INCLUDING ALL)"));
    for (const auto* part : files) PGK_RETURN_IF_ERROR(CopyIntoTable(conn, target, repo, m, *part, k).status());
    PGK_RETURN_IF_ERROR(tx.Commit());
  }
  if (o.reindex) {
    log::Info("reindex: rebuilding the indexes of {}", target);
    PGK_ASSIGN_OR_RETURN(report.reindexed, ReindexTable(conn, target));
  }
  PGK_ASSIGN_OR_RETURN(std::string n, conn.QueryValue("SELECT count(*) FROM ONLY " + target));
  int64_t actual = std::stoll(n);
  auto expected_it = m.row_counts.find(f->table);
  int64_t expected = 0;
  if (expected_it != m.row_counts.end()) {
    expected = expected_it->second;
  } else {
    for (const auto* part : files) expected += part->rows;
  }
  report.tables = 1;
  report.rows = actual;
  // Shown as the manifest shows tables: quoted only where quote_ident would.
  PGK_ASSIGN_OR_RETURN(report.restored_table,
                       conn.QueryValue("SELECT format('%I.%I', $1::text, $2::text)", {parts.first, new_name}));
  if (actual != expected) report.mismatches.push_back({f->table, expected, actual});
  report.seconds = Since(t0);
  return report;
}

nlohmann::json MismatchesJson(const std::vector<CountCheck>& mismatches) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : mismatches) {
    out.push_back({{"table", c.table},
                   {"expected", c.expected},
                   {"actual", c.actual < 0 ? nlohmann::json(nullptr) : nlohmann::json(c.actual)}});
  }
  return out;
}

}  // namespace pgk::restore
