// `clean --all-databases` (docs/commands/clean.md): drops every user database of a
// rehearsal server. Choosing what to drop is pure (ChooseDatabases, unit-tested); the
// catalog read and the drops are separate, so the command can list and confirm between.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"

namespace pgk::clean {

struct DatabaseInfo {
  std::string name;
  bool is_template = false;  // pg_database.datistemplate
  int sessions = 0;          // other client sessions connected to it
  int64_t size_bytes = 0;
};

struct Choice {
  std::vector<DatabaseInfo> drop;
  struct Kept {
    std::string name;
    std::string reason;
  };
  std::vector<Kept> kept;
};

// Every database except postgres, template0, template1, `connected_db` (the connection's
// own: it cannot drop itself) and databases marked as templates (a user's own template
// is a deliberate fixture; ALTER DATABASE ... IS_TEMPLATE false first to drop it).
Choice ChooseDatabases(const std::vector<DatabaseInfo>& all, const std::string& connected_db);

// Every database of the server with its session count (pg_stat_activity, without the
// connection's own session and background workers) and size.
Result<std::vector<DatabaseInfo>> ListDatabases(pg::Connection& conn);

struct DropOptions {
  // DROP DATABASE ... WITH (FORCE): terminates the database's sessions first. Without it a
  // session that connected since the listing makes that drop fail.
  bool terminate_sessions = false;
};

// Drops the databases in order; stops at the first failure, returning what was dropped
// until then through `dropped` and the error.
Status DropDatabases(pg::Connection& conn, const std::vector<DatabaseInfo>& databases, const DropOptions& options,
                     std::vector<std::string>* dropped);

}  // namespace pgk::clean
