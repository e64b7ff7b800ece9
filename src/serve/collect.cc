#include "serve/collect.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <vector>

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
  // The migration state is one read of the history table: every refresh, so /ready turns
  // 503 within refresh_seconds of a migration failing. The schema comparison may build a
  // shadow database: only `with_check`.
  check::CheckReport report;
  Status read;
  check::CheckOptions options{.config = o.config, .conninfo = o.conninfo};
  if (with_check) {
    migrate::RegisterMigrationCheck();
    schema::RegisterSchemaCheck();
    auto full = check::RunCheck(*conn, options);
    if (full.ok()) report = std::move(full).value();
    read = full.status();
  } else {
    read = migrate::AddMigrationSection(*conn, options, report);
  }
  // When the read fails (a history table locked by a migration), the previous values stay.
  if (read.ok()) {
    const auto& sections = report.sections;
    s->migration_version.reset();
    s->migration_dirty = false;
    if (sections.contains("migrations")) {
      const auto& m = sections["migrations"];
      if (m.contains("current_version") && m["current_version"].is_number()) {
        s->migration_version = m["current_version"].get<uint64_t>();
      }
      s->migration_dirty = m.value("dirty", false);
    }
    if (with_check) {
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
    s->wal_failing = wal->failing;
    s->wal_last_failed = wal->last_failed_wal;
    s->wal_failed_count = wal->archive_mode == "off" ? std::nullopt : std::optional<int64_t>(wal->failed_count);
    s->wal_last_archived.reset();
    if (wal->last_archived_age_s) s->wal_last_archived = now - *wal->last_archived_age_s;
  }
}

void CollectRepository(const CollectOptions& o, ManifestCache* cache, StatusSnapshot* s) {
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
  auto& storage = (*repository)->storage();
  // One listing of everything serves the manifests, the stored bytes, the newest archived
  // WAL file and the newest drill record: on S3 a listing is a request per 1000 objects.
  auto files = storage.List("");
  if (!files.ok()) {
    s->repository_error = files.status().message();
    return;
  }
  uint64_t total = 0;
  int64_t newest_wal = 0;
  std::string newest_drill;
  std::map<std::string, ManifestCache::Entry> seen;
  for (const auto& f : *files) {
    total += f.size;
    if (f.path.rfind("wal/", 0) == 0 && f.path != "wal/archive.json") newest_wal = std::max(newest_wal, f.mtime_s);
    // Drill records are named by their UTC start: the greatest name is the newest.
    if (f.path.rfind("drills/", 0) == 0 && f.path > newest_drill) newest_drill = f.path;
    if (!repo::IsManifestPath(f.path)) continue;
    auto cached = cache->entries.find(f.path);
    if (cached != cache->entries.end() && cached->second.size == f.size && cached->second.mtime_s == f.mtime_s) {
      seen.emplace(f.path, std::move(cached->second));
      continue;
    }
    ++cache->reads;
    auto text = storage.Get(f.path);
    if (!text.ok()) continue;  // gone since the listing (expire), or unreadable: as ListBackups
    auto m = repo::ParseManifest(*text, f.path);
    if (!m.ok()) continue;
    seen.emplace(f.path, ManifestCache::Entry{.size = f.size,
                                              .mtime_s = f.mtime_s,
                                              .start_us = repo::StartMicros(*m),
                                              .summary = {.id = m->id,
                                                          .type = m->type,
                                                          .tag = m->tag,
                                                          .database = m->database,
                                                          .start = ParseTime(m->start_time),
                                                          .stop = ParseTime(m->stop_time),
                                                          .duration_s = m->duration_s,
                                                          .stored_bytes = m->stored_bytes()}});
  }
  cache->entries = std::move(seen);  // removed backups leave the cache too
  std::vector<const ManifestCache::Entry*> order;
  for (const auto& [path, e] : cache->entries) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return a->start_us != b->start_us ? a->start_us < b->start_us : a->summary.id < b->summary.id;
  });
  s->backups.clear();
  for (const auto* e : order) s->backups.push_back(e->summary);
  s->repository_bytes = total;
  if (!s->wal_last_archived && newest_wal > 0) s->wal_last_archived = static_cast<double>(newest_wal);
  if (!newest_drill.empty()) {
    auto text = storage.Get(newest_drill);
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
