#include "drill/drill.h"

#include <chrono>
#include <ctime>

#include "common/hash.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "common/utc_time.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "pg/quote.h"
#include "restore/load.h"
#include "schema/diff.h"
#include "schema/introspect.h"
#include "schema/json.h"

namespace pgk::drill {

namespace {

// The live database's migration version, as backup records it (logical.cc): the highest
// successful version in a pgkeeper-shaped public.schema_migrations; nullopt without one.
Result<std::optional<uint64_t>> LiveMigrationVersion(pg::Connection& conn) {
  PGK_ASSIGN_OR_RETURN(std::string has,
                       conn.QueryValue("SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
                                       "to_regclass('public.schema_migrations') AND attname = 'success' "
                                       "AND NOT attisdropped)"));
  if (has != "t") return std::optional<uint64_t>();
  PGK_ASSIGN_OR_RETURN(std::string v,
                       conn.QueryValue("SELECT max(version)::text FROM public.schema_migrations WHERE success"));
  if (v.empty()) return std::optional<uint64_t>();
  return std::optional<uint64_t>(std::stoull(v));
}

void AddDifferences(const schema::Snapshot& expected, const schema::Snapshot& actual, DrillReport* r) {
  r->schema_compared = true;
  for (const auto& d : schema::Diff(expected, actual).differences) {
    if (d.severity == schema::Severity::kError) r->schema_differences.push_back(d.Message());
  }
}

// Backups record their schema (schema/snapshot.json, taken in the backup's snapshot): the
// restored schema must be exactly that. Older backups hold none; then the live schema is
// the only one to compare with, and it is the backup's schema only while no migration has
// run since, so anything else is reported as not compared rather than as differences that
// are really the newer migrations.
Status CompareSchema(repo::Repository& repo, const repo::Manifest& m, const pipeline::Key* key,
                     const std::string& live_conninfo, const std::string& scratch_conninfo, DrillReport* r) {
  for (const auto& f : m.files) {
    if (f.kind != "schema-snapshot") continue;
    PGK_ASSIGN_OR_RETURN(std::string text, restore::ReadWholeFile(repo, m, f, key));
    PGK_ASSIGN_OR_RETURN(schema::Snapshot expected, schema::ParseSnapshot(text, repo::BackupDir(m.id) + f.name));
    PGK_ASSIGN_OR_RETURN(pg::Connection scratch,
                         pg::Connection::Connect(scratch_conninfo, {.application_name = "pgkeeper-drill"}));
    PGK_ASSIGN_OR_RETURN(schema::Snapshot actual, schema::Introspect(scratch));
    AddDifferences(expected, actual, r);
    r->schema_compared_with = "the backup's recorded schema";
    return Status::Ok();
  }
  if (live_conninfo.empty()) {
    r->schema_note = "schema not compared (no live database given with --db)";
    return Status::Ok();
  }
  if (!m.migration_version) {
    r->schema_note = "schema not compared (the backup records no migration version)";
    return Status::Ok();
  }
  PGK_ASSIGN_OR_RETURN(pg::Connection live,
                       pg::Connection::Connect(live_conninfo, {.application_name = "pgkeeper-drill"}));
  PGK_ASSIGN_OR_RETURN(auto version, LiveMigrationVersion(live));
  if (version != m.migration_version) {
    r->schema_note = "schema not compared (the live database has moved on: migration version " +
                     (version ? std::to_string(*version) : std::string("none")) + ", backup " +
                     std::to_string(*m.migration_version) + ")";
    return Status::Ok();
  }
  PGK_ASSIGN_OR_RETURN(schema::Snapshot expected, schema::Introspect(live));
  PGK_ASSIGN_OR_RETURN(pg::Connection scratch,
                       pg::Connection::Connect(scratch_conninfo, {.application_name = "pgkeeper-drill"}));
  PGK_ASSIGN_OR_RETURN(schema::Snapshot actual, schema::Introspect(scratch));
  AddDifferences(expected, actual, r);
  r->schema_compared_with = "the live database";
  return Status::Ok();
}

Status DropDatabase(const std::string& server, const std::string& db) {
  PGK_ASSIGN_OR_RETURN(pg::Connection admin, pg::Connection::Connect(server, {.application_name = "pgkeeper-drill"}));
  return admin.Exec("DROP DATABASE IF EXISTS " + pg::QuoteIdent(db) + " WITH (FORCE)");
}

}  // namespace

std::string ScratchDatabaseName() { return "pgkeeper_drill_" + RandomHex(8); }

Result<DrillReport> RunDrill(repo::Repository& repo, const repo::Manifest& m, const DrillOptions& o) {
  DrillReport r;
  r.backup_id = m.id;
  r.target = o.target;
  r.database = ScratchDatabaseName();
  r.started = repo::Iso8601(std::time(nullptr));
  restore::RestoreOptions ro{.server_conninfo = o.server_conninfo, .into = r.database, .jobs = o.jobs};
  auto t0 = std::chrono::steady_clock::now();
  // RestoreDatabase drops the database itself when it fails.
  PGK_ASSIGN_OR_RETURN(restore::RestoreReport restored, restore::RestoreDatabase(repo, m, ro));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.tables = restored.tables;
  r.rows = restored.rows;
  r.mismatches = restored.mismatches;

  // From here the scratch database is ours to drop, on every path (and on interrupt).
  std::string server = o.server_conninfo, db = r.database;
  int hook = o.keep ? 0 : AddCleanupHook([server, db] { (void)DropDatabase(server, db); });
  Status s;
  auto scratch = pg::WithDatabase(o.server_conninfo, r.database);
  if (!scratch.ok()) {
    s = scratch.status();
  } else {
    log::Info("comparing the schema of {} with the backup's", r.database);
    auto key = repo.DataKey(m);
    s = key.ok() ? CompareSchema(repo, m, *key ? &**key : nullptr, o.live_conninfo, *scratch, &r) : key.status();
  }
  if (o.keep) {
    r.kept = true;
  } else {
    log::Info("dropping the scratch database {}", r.database);
    Status dropped = DropDatabase(server, db);
    RemoveCleanupHook(hook);
    if (!dropped.ok() && s.ok()) {
      s = Status(dropped.code(), "dropping the scratch database " + db + ": " + dropped.message(),
                 "drop it by hand: DROP DATABASE " + pg::QuoteIdent(db));
    }
  }
  if (!s.ok()) return s;
  return r;
}

nlohmann::json RecordJson(const DrillReport& r) {
  nlohmann::json mismatches = restore::MismatchesJson(r.mismatches);
  nlohmann::json j = {{"backup", r.backup_id},
                      {"started", r.started},
                      {"seconds", r.seconds},
                      {"tables", r.tables},
                      {"rows", r.rows},
                      {"count_mismatches", mismatches},
                      {"schema_compared", r.schema_compared},
                      {"schema_differences", r.schema_differences},
                      {"passed", r.passed()},
                      {"target", r.target}};
  if (!r.schema_compared) j["schema_note"] = r.schema_note;
  if (r.schema_compared) j["schema_compared_with"] = r.schema_compared_with;
  return j;
}

Status StoreRecord(repo::Repository& repo, DrillReport* r) {
  auto started = repo::ParseIso8601(r->started);
  std::string base =
      "drills/" + FormatUtc(started.ok() ? *started : std::time(nullptr), kCompactUtc) + "-" + r->backup_id;
  // Two drills of one backup in the same second must not overwrite each other's record.
  std::string path = base + ".json";
  for (int n = 2;; ++n) {
    PGK_ASSIGN_OR_RETURN(bool taken, repo.storage().Exists(path));
    if (!taken) break;
    path = base + "-" + std::to_string(n) + ".json";
  }
  PGK_RETURN_IF_ERROR(repo.storage().Put(path, RecordJson(*r).dump(2) + "\n", {.atomic = true, .sync = true}));
  r->record_path = path;
  return Status::Ok();
}

}  // namespace pgk::drill
