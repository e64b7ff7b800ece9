#include "clean/clean.h"

#include <set>

#include "pg/quote.h"

namespace pgk::clean {

Choice ChooseDatabases(const std::vector<DatabaseInfo>& all, const std::string& connected_db) {
  static const std::set<std::string> kSystem = {"postgres", "template0", "template1"};
  Choice c;
  for (const auto& d : all) {
    if (kSystem.count(d.name) > 0) {
      c.kept.push_back({d.name, "system database"});
    } else if (d.name == connected_db) {
      c.kept.push_back({d.name, "the database this command is connected to"});
    } else if (d.is_template) {
      c.kept.push_back({d.name, "marked as a template (ALTER DATABASE ... IS_TEMPLATE false to drop it)"});
    } else {
      c.drop.push_back(d);
    }
  }
  return c;
}

Result<std::vector<DatabaseInfo>> ListDatabases(pg::Connection& conn) {
  // Sizes of databases that refuse connections (datallowconn false, or half-dropped ones)
  // cannot be read; they still are dropped.
  PGK_ASSIGN_OR_RETURN(auto r,
                       conn.Query("SELECT d.datname, d.datistemplate, "
                                  "(SELECT count(*) FROM pg_catalog.pg_stat_activity a WHERE a.datname = d.datname "
                                  "   AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'), "
                                  "CASE WHEN d.datallowconn AND has_database_privilege(d.oid, 'CONNECT') "
                                  "     THEN pg_catalog.pg_database_size(d.oid) ELSE 0 END "
                                  "FROM pg_catalog.pg_database d ORDER BY d.datname"));
  std::vector<DatabaseInfo> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({.name = r.GetString(i, 0),
                   .is_template = r.GetBool(i, 1),
                   .sessions = static_cast<int>(r.GetInt(i, 2)),
                   .size_bytes = r.GetInt(i, 3)});
  }
  return out;
}

Status DropDatabases(pg::Connection& conn, const std::vector<DatabaseInfo>& databases, const DropOptions& options,
                     std::vector<std::string>* dropped) {
  for (const auto& d : databases) {
    std::string sql = "DROP DATABASE IF EXISTS " + pg::QuoteIdent(d.name);
    if (options.terminate_sessions) sql += " WITH (FORCE)";
    Status s = conn.Exec(sql);
    if (!s.ok()) {
      std::string hint = options.terminate_sessions
                             ? "the role needs to own the database (or be superuser) and to signal its sessions"
                             : "a session may have connected since the listing: rerun with --terminate-sessions";
      return Status(s.code(), "cannot drop database " + d.name + ": " + s.message(), hint);
    }
    dropped->push_back(d.name);
  }
  return Status::Ok();
}

}  // namespace pgk::clean
