// The other sessions connected to a database, as `restore --replace` must see them before
// it renames the database: listed to refuse with a useful message, or terminated.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"

namespace pgk::restore {

struct Session {
  int pid = 0;
  std::string application;  // application_name, "unnamed" when empty
  std::string user;
};

// Client sessions on `db` other than the connection's own. Autovacuum workers are left
// out: renaming or dropping a database cancels them itself.
Result<std::vector<Session>> OtherSessions(pg::Connection& conn, const std::string& db);

// "2 sessions (billing: 1, psql: 1)".
std::string DescribeSessions(const std::vector<Session>& sessions);

// pg_terminate_backend for every other session on `db`, then waits up to `wait_s` seconds
// for them to be gone. Returns how many were signalled. Needs the right to signal them
// (superuser, the same role, or pg_signal_backend).
Result<int> TerminateSessions(pg::Connection& conn, const std::string& db, double wait_s = 5);

}  // namespace pgk::restore
