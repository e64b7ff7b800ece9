// `dr`: the disaster-recovery plan (docs/commands/dr.md). Building a plan is pure: from
// what happened (the scenario and its flags) and what the repository holds (the backups'
// manifests), it picks the backup and lists the steps, each either a pgkeeper command
// (exactly what an operator would type, run by dr as a child process), an export of lost
// rows, a manual action dr cannot do (point the application elsewhere), or the final
// verification. No I/O here; plan_test.cc covers every scenario and refusal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/manifest.h"

namespace pgk::dr {

enum class Scenario { kCorruption, kDeletion, kServerLost, kSecurityIncident };

// "corruption", "deletion", "server-lost", "security" (and a few synonyms).
Result<Scenario> ParseScenario(const std::string& text);
const char* ScenarioName(Scenario s);
// One line on what the scenario means and what dr does about it, for the menu and plan.
const char* ScenarioSummary(Scenario s);

// Which connection a command step runs with (given to the child as DATABASE_URL, never
// on its command line): the damaged server (--db), the new one (--to), or the physically
// restored server on its side port (the source's credentials, host 127.0.0.1).
enum class Server { kNone, kSource, kTarget, kRestored };

struct Step {
  enum class Kind { kCommand, kExport, kManual, kVerify };
  Kind kind = Kind::kCommand;
  std::string title;              // "restore backup X into the side database recovered"
  std::vector<std::string> args;  // kCommand: pgkeeper's arguments (without the binary)
  Server server = Server::kNone;  // kCommand: which --db it runs against
  std::string table;              // kExport: the table whose lost rows are exported
  std::string detail;             // kManual: what to do; others: a note
};

struct PlanInput {
  Scenario scenario = Scenario::kCorruption;
  std::string method;     // "logical" | "physical" | "" (logical when a logical backup fits)
  std::string database;   // the affected database (from --db, else the newest backup's)
  std::string repo;       // repository URL as given (flag or config), repeated in commands
  std::string key_file;   // repeated in commands when given
  std::string backup_id;  // an explicit backup (else the newest that fits)
  // The incident time (deletion: required; security: optional, the restore must predate
  // it); µs since the epoch and the text as given.
  std::optional<int64_t> before_us;
  std::string before_text;
  std::vector<std::string> tables;  // deletion: the tables whose rows were lost
  std::string side_db;              // deletion (logical): where the earlier state goes
  std::string side_pgdata;          // deletion/corruption/server-lost (physical): a new data directory
  int port = 0;                     // physical: the restored server's port
  std::string export_dir;           // deletion: where the CSV files go
  bool has_target_server = false;   // server-lost: --to was given
  std::string target_into;          // server-lost: the database's name on the new server
  bool terminate_sessions = false;  // corruption/security: passed to restore --replace
  bool no_safety_backup = false;
  std::string passwords_file;            // security: roles reset-passwords --file
  std::string passwords_env;             // security: roles reset-passwords --from-env
  std::vector<std::string> login_roles;  // security: roles that can log in on the server
  std::vector<repo::Manifest> backups;   // the repository's backups, oldest first
};

struct Plan {
  Scenario scenario = Scenario::kCorruption;
  std::string method;  // "logical" | "physical"
  std::string database;
  std::string backup_id;    // the backup restored
  std::string backup_time;  // its consistency point (ISO 8601 UTC)
  // The point the data is restored to, µs since the epoch: a logical backup's snapshot
  // (its start), or the physical recovery target (the incident time; else the backup's
  // end, until recovery reports the point it reached).
  int64_t restored_point_us = 0;
  bool replaces_live = false;   // the plan overwrites the live database (typed confirmation)
  std::string side_conn_db;     // where the restored data can be read: database name
  bool side_on_target = false;  // ...on the --to server (else the source server)
  int side_port = 0;            // ...or on a restored physical server on this port
  std::vector<Step> steps;
  std::vector<std::string> notes;
};

// Refusals (InvalidArgument/NotFound, exit 2) say which flag is missing or why no backup
// fits (naming the oldest backup's time).
Result<Plan> BuildPlan(const PlanInput& in);

// The command as a user would type it: "pgkeeper restore 2026...-L --into recovered ...",
// with `--db <server>` first when the step runs against one (the URL is masked on output).
std::string CommandLine(const Step& step, const std::string& source_display, const std::string& target_display,
                        const std::string& restored_display = "");

}  // namespace pgk::dr
