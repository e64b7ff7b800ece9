#include "backup/globals.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>

#include "backup/file_writer.h"
#include "backup/pg_tool.h"
#include "common/version.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "pg/database_props.h"

namespace pgk::backup {

namespace {

using Clock = std::chrono::steady_clock;

// What every kind of backup shares: identity, timing, pipeline settings and the data key.
struct Started {
  repo::Manifest m;
  std::optional<pipeline::Key> data_key;
  FileSpec base;
  Clock::time_point t0 = Clock::now();
};

Result<Started> Start(repo::Repository& repository, const LogicalOptions& o, const std::string& type,
                      pg::Connection& conn) {
  Started s;
  int64_t start_s = std::time(nullptr);
  s.m.type = type;
  s.m.id = repo::BackupId(start_s, type);
  // Two backups in the same second: make the id unique rather than overwrite.
  for (int n = 2;; ++n) {
    PGK_ASSIGN_OR_RETURN(bool taken, repository.storage().Exists(repo::ManifestPath(s.m.id)));
    if (!taken) break;
    s.m.id = repo::BackupId(start_s, type) + std::to_string(n);
  }
  PGK_ASSIGN_OR_RETURN(s.m.server_version, conn.QueryValue("SHOW server_version"));
  s.m.start_time = repo::Iso8601(start_s);
  s.m.tag = o.tag;
  s.m.pgkeeper_version = kVersion;
  s.m.compression = std::string(pipeline::CompressionName(o.compression));
  s.m.compression_level = o.compression_level;
  if (const pipeline::Key* rk = repository.repo_key()) {
    s.data_key = pipeline::RandomKey();
    s.m.wrapped_data_key = pipeline::WrapKey(*rk, *s.data_key);
    s.m.cipher = "aes-256-gcm";
  }
  s.base = FileSpec{.backup_id = s.m.id, .compression = o.compression, .compression_level = o.compression_level};
  return s;
}

Status WriteGlobals(repo::Repository& repository, Started& s, const std::string& conninfo) {
  FileSpec spec = s.base;
  spec.data_key = s.data_key ? &*s.data_key : nullptr;
  spec.name = "globals.sql";
  spec.kind = "globals";
  repo::ManifestFile entry;
  PGK_RETURN_IF_ERROR(WriteBackupFile(
      repository, spec,
      [&](pipeline::Sink& sink) {
        // --no-role-passwords: no password hash ever reaches the repository (and
        // pg_dumpall reads pg_roles instead of pg_authid, so no superuser is needed).
        return RunPgTool(
            {.tool = "pg_dumpall", .conninfo = conninfo, .args = {"--globals-only", "--no-role-passwords"}}, sink);
      },
      &entry));
  s.m.files.push_back(std::move(entry));
  return Status::Ok();
}

Status CountGlobals(pg::Connection& conn, GlobalsResult* r) {
  PGK_ASSIGN_OR_RETURN(auto counts,
                       conn.Query("SELECT (SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname !~ '^pg_'), "
                                  "(SELECT count(*) FROM pg_catalog.pg_tablespace "
                                  "WHERE spcname NOT IN ('pg_default', 'pg_global'))"));
  r->roles = static_cast<int>(counts.GetInt(0, 0));
  r->tablespaces = static_cast<int>(counts.GetInt(0, 1));
  return Status::Ok();
}

Status RefuseFilters(const LogicalOptions& o, const std::string& type, bool allow_schema_only) {
  if (!o.tables.empty() || !o.exclude_tables.empty()) {
    return Status::InvalidArgument("-t and --exclude-table do not apply to a " + type + " backup",
                                   "take a logical backup of one database to choose tables");
  }
  if (o.data_only || (o.schema_only && !allow_schema_only)) {
    return Status::InvalidArgument(std::string(o.data_only ? "--data-only" : "--schema-only") +
                                   " does not apply to a " + type + " backup");
  }
  return Status::Ok();
}

// The sanity check of logical backups, for the whole backup: much smaller than the
// previous one of the same type usually means lost data.
std::string SizeWarning(repo::Repository& repository, const repo::Manifest& m) {
  auto previous = repository.ListBackups();
  if (!previous.ok()) return "";
  for (auto it = previous->rbegin(); it != previous->rend(); ++it) {
    if (it->type != m.type || it->options != m.options) continue;
    if (it->original_bytes() > 0 && m.original_bytes() < it->original_bytes() / 2) {
      return "suspiciously small: " + std::to_string(m.original_bytes()) + " bytes, the previous backup " + it->id +
             " had " + std::to_string(it->original_bytes());
    }
    break;
  }
  return "";
}

Result<GlobalsResult> Finish(repo::Repository& repository, Started& s, GlobalsResult r) {
  s.m.stop_time = repo::Iso8601(std::time(nullptr));
  s.m.duration_s = std::chrono::duration<double>(Clock::now() - s.t0).count();
  r.warning = SizeWarning(repository, s.m);
  PGK_RETURN_IF_ERROR(repository.WriteManifest(s.m));
  r.manifest = std::move(s.m);
  return r;
}

Result<std::vector<std::string>> ListDatabases(pg::Connection& conn, const std::vector<std::string>& exclude) {
  PGK_ASSIGN_OR_RETURN(auto res, conn.Query("SELECT datname FROM pg_catalog.pg_database "
                                            "WHERE datallowconn AND NOT datistemplate ORDER BY datname"));
  std::vector<std::string> all, out;
  for (int i = 0; i < res.rows(); ++i) all.push_back(res.GetString(i, 0));
  for (const auto& x : exclude) {
    if (std::find(all.begin(), all.end(), x) == all.end()) {
      return Status::NotFound("no database " + x + " to exclude on " + conn.display(),
                              "--exclude-database takes exact database names");
    }
  }
  for (const auto& d : all)
    if (std::find(exclude.begin(), exclude.end(), d) == exclude.end()) out.push_back(d);
  if (out.empty()) return Status::NotFound("no database left to back up on " + conn.display());
  return out;
}

}  // namespace

Result<GlobalsResult> RunGlobalsBackup(repo::Repository& repository, const LogicalOptions& o,
                                       const std::function<void(const std::string&)>& progress) {
  PGK_RETURN_IF_ERROR(RefuseFilters(o, "globals", false));
  PGK_ASSIGN_OR_RETURN(pg::Connection conn,
                       pg::Connection::Connect(o.conninfo, {.application_name = "pgkeeper-backup"}));
  PGK_ASSIGN_OR_RETURN(Started s, Start(repository, o, "globals", conn));
  GlobalsResult r;
  Status st = WriteGlobals(repository, s, o.conninfo);
  if (st.ok()) st = CountGlobals(conn, &r);
  if (st.ok()) {
    progress("roles and tablespaces written");
    auto done = Finish(repository, s, std::move(r));
    if (done.ok()) return done;
    st = done.status();
  }
  // Best effort: a backup without manifest is invisible anyway, and expire removes it.
  (void)repository.storage().RemovePrefix(repo::BackupDir(s.m.id));
  return st;
}

Result<GlobalsResult> RunClusterBackup(repo::Repository& repository, const ClusterOptions& o,
                                       const std::function<void(const std::string&)>& progress) {
  PGK_RETURN_IF_ERROR(RefuseFilters(o.logical, "cluster", true));
  PGK_ASSIGN_OR_RETURN(pg::Connection conn,
                       pg::Connection::Connect(o.logical.conninfo, {.application_name = "pgkeeper-backup"}));
  PGK_ASSIGN_OR_RETURN(auto databases, ListDatabases(conn, o.exclude_databases));
  PGK_ASSIGN_OR_RETURN(Started s, Start(repository, o.logical, "cluster", conn));
  for (const auto& x : o.exclude_databases) s.m.options.push_back("exclude-database=" + x);
  if (o.logical.schema_only) s.m.options.push_back("schema-only");
  GlobalsResult r;
  auto run = [&]() -> Status {
    // Globals first, as pg_dumpall does: the roles the databases' objects belong to.
    PGK_RETURN_IF_ERROR(WriteGlobals(repository, s, o.logical.conninfo));
    PGK_RETURN_IF_ERROR(CountGlobals(conn, &r));
    progress("roles and tablespaces written");
    for (size_t i = 0; i < databases.size(); ++i) {
      const std::string& name = databases[i];
      repo::ManifestDatabase d{.name = name, .dir = "db/" + std::to_string(i + 1)};
      // Read before the database's own backup: a database dropped meanwhile fails here,
      // with its name, instead of in pg_dump.
      PGK_ASSIGN_OR_RETURN(pg::DatabaseProps props, pg::ReadDatabaseProps(conn, name));
      d.properties = pg::PropsToJson(props);
      LogicalOptions lo = o.logical;
      PGK_ASSIGN_OR_RETURN(lo.conninfo, pg::WithDatabase(o.logical.conninfo, name));
      lo.member_id = s.m.id + "/" + d.dir;
      lo.member_key = s.data_key ? &*s.data_key : nullptr;
      auto member = RunLogicalBackup(repository, lo, [&](const std::string& e) { progress(name + ": " + e); });
      if (!member.ok()) return member.status().WithContext("database " + name);
      const repo::Manifest& mm = member->manifest;
      d.start_time = mm.start_time;
      d.stop_time = mm.stop_time;
      d.migration_version = mm.migration_version;
      d.row_counts = mm.row_counts;
      d.options = mm.options;
      for (auto f : mm.files) {
        f.name = d.dir + "/" + f.name;
        s.m.files.push_back(std::move(f));
      }
      s.m.databases.push_back(std::move(d));
      progress("database " + name + " written");
    }
    return Status::Ok();
  };
  Status st = run();
  if (st.ok()) {
    auto done = Finish(repository, s, std::move(r));
    if (done.ok()) return done;
    st = done.status();
  }
  (void)repository.storage().RemovePrefix(repo::BackupDir(s.m.id));
  return st;
}

}  // namespace pgk::backup
