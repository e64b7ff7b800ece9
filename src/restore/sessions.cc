#include "restore/sessions.h"

#include <chrono>
#include <map>
#include <thread>

namespace pgk::restore {

namespace {

// Parallel workers belong to a client session that is listed itself.
constexpr const char* kOthers =
    "FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() "
    "AND backend_type NOT IN ('autovacuum worker', 'parallel worker')";

}  // namespace

Result<std::vector<Session>> OtherSessions(pg::Connection& conn, const std::string& db) {
  PGK_ASSIGN_OR_RETURN(auto r, conn.Query(std::string("SELECT pid, coalesce(nullif(application_name, ''), 'unnamed'), "
                                                      "coalesce(usename, '') ") +
                                              kOthers + " ORDER BY pid",
                                          {db}));
  std::vector<Session> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({static_cast<int>(r.GetInt(i, 0)), r.GetString(i, 1), r.GetString(i, 2)});
  return out;
}

std::string DescribeSessions(const std::vector<Session>& sessions) {
  std::map<std::string, int> by_app;
  for (const auto& s : sessions) ++by_app[s.application];
  std::string apps;
  for (const auto& [app, n] : by_app) apps += (apps.empty() ? "" : ", ") + app + ": " + std::to_string(n);
  return std::to_string(sessions.size()) + (sessions.size() == 1 ? " session (" : " sessions (") + apps + ")";
}

Result<int> TerminateSessions(pg::Connection& conn, const std::string& db, double wait_s) {
  PGK_ASSIGN_OR_RETURN(
      std::string n,
      conn.QueryValue(std::string("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) ") + kOthers, {db}));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_s);
  for (;;) {
    PGK_ASSIGN_OR_RETURN(auto left, OtherSessions(conn, db));
    if (left.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::stoi(n);
}

}  // namespace pgk::restore
