#include "wal/setup.h"

#include <chrono>
#include <cstdlib>
#include <thread>

#include "pg/quote.h"

namespace pgk::wal {

namespace {

constexpr int kSuggestedTimeoutS = 60;
// Beyond this, an idle server's last transactions wait too long for their segment.
constexpr int kMaxTimeoutS = 300;

const char* const kNames[] = {"wal_level", "archive_mode", "archive_command", "archive_library", "archive_timeout"};

}  // namespace

Result<std::map<std::string, CurrentSetting>> CurrentArchiveSettings(pg::Connection& conn) {
  // archive_timeout in seconds whatever unit the server reports it in.
  PGK_ASSIGN_OR_RETURN(auto r,
                       conn.Query(R"SQL(
    SELECT name,
           CASE WHEN name = 'archive_timeout'
                THEN extract(epoch FROM current_setting(name)::interval)::int::text
                ELSE current_setting(name) END,
           pending_restart
      FROM pg_settings WHERE name = ANY($1::text[]))SQL",
                                  {"{wal_level,archive_mode,archive_command,archive_library,archive_timeout}"}));
  std::map<std::string, CurrentSetting> out;
  for (int i = 0; i < r.rows(); ++i) out[r.GetString(i, 0)] = {r.GetString(i, 1), r.GetBool(i, 2)};
  // With archive_mode off the server shows archive_command as "(disabled)"; what it will
  // run once archiving is on is the last value in the configuration files (superuser).
  if (out["archive_command"].value == "(disabled)") {
    auto f = conn.Query(
        "SELECT setting FROM pg_file_settings WHERE name = 'archive_command' AND error IS NULL "
        "ORDER BY seqno DESC LIMIT 1");
    if (f.ok() && f->rows() == 1) out["archive_command"].value = f->GetString(0, 0);
  }
  return out;
}

ArchivingPlan PlanArchiving(const std::map<std::string, CurrentSetting>& current, const std::string& archive_command) {
  auto get = [&](const char* name) -> std::string {
    auto it = current.find(name);
    return it == current.end() ? "" : it->second.value;
  };
  ArchivingPlan plan;
  std::string level = get("wal_level");
  plan.settings.push_back({.name = "wal_level",
                           .current = level,
                           .wanted = "replica",
                           .ok = level == "replica" || level == "logical",
                           .restart = true,
                           .why = "archived WAL must be enough to restore a physical backup"});
  std::string mode = get("archive_mode");
  plan.settings.push_back({.name = "archive_mode",
                           .current = mode,
                           .wanted = "on",
                           .ok = mode == "on" || mode == "always",
                           .restart = true,
                           .why = "makes the server run archive_command for every completed segment"});
  std::string cmd = get("archive_command");
  plan.replaces_command = !cmd.empty() && cmd != "(disabled)" && cmd != archive_command;
  plan.settings.push_back({.name = "archive_command",
                           .current = cmd,
                           .wanted = archive_command,
                           .ok = cmd == archive_command,
                           .why = plan.replaces_command ? "replaces the current command: the repository gets the WAL"
                                                        : "pushes each segment into the repository"});
  if (current.count("archive_library")) {  // PostgreSQL 15 and later
    std::string lib = get("archive_library");
    plan.settings.push_back({.name = "archive_library",
                             .current = lib,
                             .wanted = "",
                             .ok = lib.empty(),
                             .why = "an archive library takes precedence over archive_command"});
  }
  std::string timeout = get("archive_timeout");
  int t = timeout.empty() ? 0 : std::atoi(timeout.c_str());
  bool t_ok = t > 0 && t <= kMaxTimeoutS;
  plan.settings.push_back({.name = "archive_timeout",
                           .current = timeout.empty() ? "" : timeout + "s",
                           .wanted = t_ok ? timeout + "s" : std::to_string(kSuggestedTimeoutS) + "s",
                           .ok = t_ok,
                           .why = "bounds how long a quiet server's last commits wait to be archived (the RPO)"});
  return plan;
}

Result<std::vector<std::string>> ApplyArchiving(pg::Connection& conn, const ArchivingPlan& plan) {
  for (const auto& s : plan.settings) {
    if (s.ok) continue;
    // ALTER SYSTEM takes no parameters: the value goes in as a quoted literal.
    PGK_RETURN_IF_ERROR(conn.Exec("ALTER SYSTEM SET " + s.name + " = " + pg::QuoteLiteral(s.wanted)));
  }
  PGK_ASSIGN_OR_RETURN(std::string loaded, conn.QueryValue("SELECT pg_conf_load_time()::text"));
  PGK_RETURN_IF_ERROR(conn.Query("SELECT pg_reload_conf()").status());
  // The reload is asynchronous: wait (briefly) until this backend has read the files again,
  // so that pending_restart is current.
  for (int i = 0; i < 50; ++i) {
    PGK_ASSIGN_OR_RETURN(std::string now_loaded, conn.QueryValue("SELECT pg_conf_load_time()::text"));
    if (now_loaded != loaded) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  PGK_ASSIGN_OR_RETURN(auto now, CurrentArchiveSettings(conn));
  std::vector<std::string> pending;
  for (const char* name : kNames) {
    auto it = now.find(name);
    if (it != now.end() && it->second.pending_restart) pending.push_back(name);
  }
  return pending;
}

}  // namespace pgk::wal
