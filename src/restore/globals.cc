#include "restore/globals.h"

#include "common/log.h"
#include "pg/connection.h"
#include "restore/globals_script.h"
#include "restore/load.h"
#include "restore/script.h"

namespace pgk::restore {

namespace {

using Kind = GlobalsStatement::Kind;

Result<bool> Exists(pg::Connection& conn, const char* catalog_query, const std::string& name) {
  PGK_ASSIGN_OR_RETURN(auto r, conn.Query(catalog_query, {name}));
  return r.rows() > 0;
}

constexpr char kRoleExists[] = "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1";
constexpr char kTablespaceExists[] = "SELECT 1 FROM pg_catalog.pg_tablespace WHERE spcname = $1";

Status Execute(pg::Connection& conn, const GlobalsStatement& st, const std::string& origin) {
  Status s = conn.Exec(st.text);
  if (s.ok()) return s;
  return Status(s.code(), origin + " line " + std::to_string(st.line) + ": " + s.message(), s.hint());
}

}  // namespace

Status RefuseUnlessLogical(const repo::Manifest& m) {
  if (m.type == "logical") return Status::Ok();
  return Status::Refused("backup " + m.id + " is a " + m.type + " backup, not a logical backup of one database",
                         "`pgkeeper restore " + m.id +
                             "` restores globals and cluster backups; to restore one "
                             "database of a cluster backup use `pgkeeper restore " +
                             m.id + " --only DB --into NEWDB`");
}

Result<GlobalsReport> ApplyGlobals(repo::Repository& repo, const repo::Manifest& m, const pipeline::Key* data_key,
                                   const GlobalsOptions& o) {
  const repo::ManifestFile* file = nullptr;
  for (const auto& f : m.files)
    if (f.kind == "globals") file = &f;
  if (!file) return Status::NotFound("backup " + m.id + " holds no roles or tablespaces (no globals file)");
  std::string origin = repo::BackupDir(m.id) + file->name;
  // Read whole, so the pipeline has verified every byte before a statement runs.
  PGK_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(repo, m, *file, data_key));
  PGK_ASSIGN_OR_RETURN(std::string sql, StripPsqlMetaCommands(text, origin));
  PGK_ASSIGN_OR_RETURN(auto statements, ParseGlobalsScript(sql, origin));

  PGK_ASSIGN_OR_RETURN(pg::Connection conn,
                       pg::Connection::Connect(o.server_conninfo, {.application_name = "pgkeeper-restore"}));
  GlobalsReport report;
  {
    log::Info("roles: applying {} in one transaction", file->name);
    PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn));
    for (const auto& st : statements) {
      if (st.kind == Kind::kTablespace || st.kind == Kind::kCreateTablespace) continue;
      if (st.kind == Kind::kCreateRole) {
        PGK_ASSIGN_OR_RETURN(bool exists, Exists(conn, kRoleExists, st.name));
        (exists ? report.roles_existing : report.roles_created).push_back(st.name);
        if (exists) continue;
      }
      Status s = Execute(conn, st, origin);
      if (!s.ok()) {
        return Status(s.code(), s.message() + "; no role was changed",
                      s.hint().empty() ? "the role restoring globals needs CREATEROLE (superuser for superuser roles)"
                                       : s.hint());
      }
      ++report.statements;
    }
    PGK_RETURN_IF_ERROR(tx.Commit());
  }
  if (!o.tablespaces) return report;
  // Statement by statement: CREATE TABLESPACE refuses a transaction block. A tablespace that
  // exists keeps its location; its grants and settings are applied as for roles.
  for (const auto& st : statements) {
    if (st.kind != Kind::kTablespace && st.kind != Kind::kCreateTablespace) continue;
    if (st.kind == Kind::kCreateTablespace) {
      PGK_ASSIGN_OR_RETURN(bool exists, Exists(conn, kTablespaceExists, st.name));
      (exists ? report.tablespaces_existing : report.tablespaces_created).push_back(st.name);
      if (exists) continue;
      log::Info("tablespaces: creating {}", st.name);
    }
    Status s = Execute(conn, st, origin);
    if (!s.ok()) {
      if (st.kind == Kind::kCreateTablespace) report.tablespaces_created.pop_back();
      std::string done = report.tablespaces_created.empty() ? "" : "; tablespaces created before: ";
      for (size_t i = 0; i < report.tablespaces_created.size(); ++i)
        done += (i ? ", " : "") + report.tablespaces_created[i];
      return Status(s.code(), s.message() + "; the roles were restored" + done,
                    "a tablespace's directory must exist, be empty and belong to the server's user; or pass "
                    "--no-tablespaces to restore roles only");
    }
    ++report.statements;
  }
  return report;
}

}  // namespace pgk::restore
