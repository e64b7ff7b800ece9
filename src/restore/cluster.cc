#include "restore/cluster.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "common/log.h"
#include "pg/connection.h"
#include "pg/database_props.h"
#include "restore/verify.h"

namespace pgk::restore {

namespace {

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// On a connection of its own: an ALTER DATABASE that fails must not end the session the
// next database is restored with.
Status ApplyProps(const std::string& conninfo, const pg::DatabaseProps& props, const std::string& db) {
  PGK_ASSIGN_OR_RETURN(pg::Connection admin, pg::Connection::Connect(conninfo, {.application_name = "pgkeeper-restore"}));
  return pg::ApplyDatabaseProps(admin, props, db);
}

}  // namespace

Result<std::vector<DatabaseTarget>> PlanDatabases(const repo::Manifest& m, const ClusterRestoreOptions& o) {
  std::vector<std::string> held;
  for (const auto& d : m.databases) held.push_back(d.name);
  for (const auto* list : {&o.only, &o.exclude}) {
    for (const auto& name : *list) {
      if (!Contains(held, name)) {
        return Status::InvalidArgument("backup " + m.id + " has no database " + name,
                                       "it holds: " + (held.empty() ? std::string("none") : Join(held)));
      }
    }
  }
  std::vector<DatabaseTarget> out;
  for (const auto& d : m.databases) {
    if (!o.only.empty() && !Contains(o.only, d.name)) continue;
    if (Contains(o.exclude, d.name)) continue;
    out.push_back({&d, o.prefix + d.name});
  }
  if (out.empty()) return Status::InvalidArgument("no database of backup " + m.id + " is left to restore");
  if (!o.into.empty()) {
    if (!o.prefix.empty()) return Status::InvalidArgument("--into and --prefix exclude each other");
    if (out.size() != 1) {
      return Status::InvalidArgument("--into names one database, but " + std::to_string(out.size()) +
                                         " databases of backup " + m.id + " are chosen",
                                     "choose one with --only DB, or map them all with --prefix P");
    }
    out[0].into = o.into;
  }
  for (const auto& t : out) {
    if (t.into.size() > 63) {
      return Status::InvalidArgument("the database name " + t.into + " would be longer than PostgreSQL's 63 bytes",
                                     "use a shorter --prefix, or --into with --only");
    }
  }
  return out;
}

Result<ClusterRestoreReport> RestoreCluster(repo::Repository& repo, const repo::Manifest& m,
                                            const ClusterRestoreOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  ClusterRestoreReport report;
  report.backup_id = m.id;
  PGK_ASSIGN_OR_RETURN(auto targets, PlanDatabases(m, o));
  {
    PGK_ASSIGN_OR_RETURN(pg::Connection admin,
                         pg::Connection::Connect(o.server_conninfo, {.application_name = "pgkeeper-restore"}));
    std::vector<std::string> existing;
    for (const auto& t : targets) {
      PGK_ASSIGN_OR_RETURN(auto r, admin.Query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", {t.into}));
      if (r.rows() > 0) existing.push_back(t.into);
    }
    if (!existing.empty()) {
      return Status::Refused("database" + std::string(existing.size() > 1 ? "s " : " ") + Join(existing) +
                                 (existing.size() > 1 ? " already exist" : " already exists") + " on " +
                                 admin.display() + ": nothing was restored",
                             "restore never writes into an existing database: map the databases to new names "
                             "with --prefix P, or leave these out with --exclude DB (or choose with --only DB "
                             "[--into NAME])");
    }
  }

  PGK_ASSIGN_OR_RETURN(auto key, repo.DataKey(m));
  const pipeline::Key* k = key ? &*key : nullptr;
  if (o.verify_first) {
    // Only what this restore reads: the globals and the chosen databases' files.
    std::vector<const repo::ManifestFile*> files;
    for (const auto& f : m.files) {
      bool wanted = o.globals && f.kind == "globals";
      for (const auto& t : targets) wanted = wanted || f.name.rfind(t.database->dir + "/", 0) == 0;
      if (wanted) files.push_back(&f);
    }
    log::Info("verifying {} files of backup {} before touching the server", files.size(), m.id);
    auto verdicts = VerifyFiles(repo, m, k, files, o.jobs);
    PGK_RETURN_IF_ERROR(FirstFailure(verdicts));
    report.files_verified = static_cast<int>(verdicts.size());
  }
  if (o.globals) {
    PGK_ASSIGN_OR_RETURN(
        report.globals, ApplyGlobals(repo, m, k, {.server_conninfo = o.server_conninfo, .tablespaces = o.tablespaces}));
  }
  for (const auto& t : targets) {
    log::Info("database {}: restoring into {}", t.database->name, t.into);
    repo::Manifest member = repo::DatabaseManifest(m, *t.database);
    RestoreOptions ro;
    ro.server_conninfo = o.server_conninfo;
    ro.into = t.into;
    ro.jobs = o.jobs;
    ro.verify_first = false;  // verified above (or not wanted); files are still checked as they load
    std::optional<pg::DatabaseProps> props;
    if (!t.database->properties.is_null()) {
      PGK_ASSIGN_OR_RETURN(props, pg::PropsFromJson(t.database->properties));
      // The tablespace exists on the target only when the globals brought it.
      if (!o.globals || !o.tablespaces) props->tablespace.clear();
      ro.create_clauses = pg::CreateClauses(*props);
    }
    auto r = RestoreDatabase(repo, member, ro);
    if (!r.ok()) {
      std::vector<std::string> done;
      for (size_t i = 0; i < report.databases.size(); ++i)
        done.push_back(report.sources[i] + " -> " + report.databases[i].database);
      std::string kept = done.empty() ? "" : "; restored before it (complete, kept): " + Join(done);
      return Status(r.status().code(), "database " + t.database->name + ": " + r.status().message() + kept,
                    r.status().hint());
    }
    report.sources.push_back(t.database->name);
    report.databases.push_back(std::move(r).value());
    if (props) {
      Status applied = ApplyProps(o.server_conninfo, *props, t.into);
      if (!applied.ok()) {
        report.warnings.push_back("database " + t.into + ": owner, privileges or settings not applied: " +
                                  applied.message());
      }
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace pgk::restore
