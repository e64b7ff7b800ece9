#include "serve/collect.h"

#include <nlohmann/json.hpp>

#include "check/report.h"
#include "migrate/check_section.h"
#include "pg/connection.h"
#include "repo/repository.h"
#include "schema/check_section.h"
#include "wal/status.h"

namespace pgk::serve {

namespace {

Result<pg::Connection> Open(const std::string& conninfo, int timeout_s) {
  return pg::Connection::Connect(conninfo, {.application_name = "pgkeeper serve", .connect_timeout_s = timeout_s});
}

double ParseTime(const std::string& iso) {
  auto t = repo::ParseIso8601(iso);
  return t.ok() ? static_cast<double>(*t) : 0;
}

}  // namespace

Status ProbeDatabase(const std::string& conninfo, int timeout_s) {
  PGK_ASSIGN_OR_RETURN(pg::Connection conn, Open(conninfo, timeout_s));
  PGK_ASSIGN_OR_RETURN(std::string one, conn.QueryValue("SELECT 1"));
  if (one != "1") return Status::Query("SELECT 1 returned '" + one + "'");
  return Status::Ok();
}

void CollectDatabase(const CollectOptions& o, bool with_check, double now, StatusSnapshot* s) {
  auto conn = Open(o.conninfo, o.probe_timeout_s);
  if (!conn.ok()) {
    s->database_up = false;
    s->database_error = conn.status().message();
    return;
  }
  s->database_up = true;
  s->database_error.clear();
  // check's queries read table sizes: behind a table locked by a migration they would
  // wait, and the status would go stale. Better to fail and keep the previous values.
  (void)conn->Exec("SET lock_timeout = '5s'; SET statement_timeout = '120s'");
  if (with_check) {
    migrate::RegisterMigrationCheck();
    schema::RegisterSchemaCheck();
    auto report = check::RunCheck(*conn, {.config = o.config, .conninfo = o.conninfo});
    if (report.ok()) {
      const auto& sections = report->sections;
      s->migration_version.reset();
      s->migration_dirty = false;
      if (sections.contains("migrations")) {
        const auto& m = sections["migrations"];
        if (m.contains("current_version") && m["current_version"].is_number()) {
          s->migration_version = m["current_version"].get<uint64_t>();
        }
        s->migration_dirty = m.value("dirty", false);
      }
      s->schema_differences.reset();
      if (sections.contains("schema")) {
        s->schema_differences = sections["schema"].value("errors", 0);
        s->schema_expected = sections["schema"].value("expected", "");
      }
    }
  }
  auto wal = wal::QueryArchiveStatus(*conn);
  if (wal.ok()) {
    s->archive_mode = wal->archive_mode;
    s->wal_lag_seconds = wal->lag_seconds;
    s->wal_lag_bytes = wal->lag_bytes;
    s->wal_last_archived.reset();
    if (wal->last_archived_age_s) s->wal_last_archived = now - *wal->last_archived_age_s;
  }
}

void CollectRepository(const CollectOptions& o, StatusSnapshot* s) {
  s->repository_error.clear();
  if (o.repo_url.empty()) {
    s->repository_error = "no repository configured (--repo or repository.url)";
    return;
  }
  // Listing needs no key: an encrypted repository opens for metadata without one.
  auto repository = repo::Repository::Open({.url = o.repo_url, .key_file = o.key_file, .metadata_only = true});
  if (!repository.ok()) {
    s->repository_error = repository.status().message();
    return;
  }
  s->repository = (*repository)->Url();
  auto manifests = (*repository)->ListBackups();
  if (!manifests.ok()) {
    s->repository_error = manifests.status().message();
    return;
  }
  s->backups.clear();
  for (const auto& m : *manifests) {
    s->backups.push_back({.id = m.id,
                          .type = m.type,
                          .tag = m.tag,
                          .database = m.database,
                          .start = ParseTime(m.start_time),
                          .stop = ParseTime(m.stop_time),
                          .duration_s = m.duration_s,
                          .stored_bytes = m.stored_bytes()});
  }
  auto& storage = (*repository)->storage();
  // One listing of everything: the stored bytes, and the newest archived WAL file.
  auto files = storage.List("");
  if (files.ok()) {
    uint64_t total = 0;
    int64_t newest_wal = 0;
    for (const auto& f : *files) {
      total += f.size;
      if (f.path.rfind("wal/", 0) == 0 && f.path != "wal/archive.json") newest_wal = std::max(newest_wal, f.mtime_s);
    }
    s->repository_bytes = total;
    if (!s->wal_last_archived && newest_wal > 0) s->wal_last_archived = static_cast<double>(newest_wal);
  }
  auto drills = storage.List("drills/");
  if (drills.ok() && !drills->empty()) {
    // Names start with the drill's UTC time: the last is the newest.
    auto text = storage.Get(drills->back().path);
    if (text.ok()) {
      nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
      if (j.is_object()) {
        s->last_drill = DrillSummary{.time = ParseTime(j.value("started", "")),
                                     .passed = j.value("passed", false),
                                     .restore_seconds = j.value("seconds", 0.0),
                                     .backup_id = j.value("backup", "")};
      }
    }
  }
}

}  // namespace pgk::serve
