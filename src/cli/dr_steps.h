// `dr`: running a plan's steps (cmd_dr.cc builds and confirms the plan). Commands run as
// child processes of this binary — exactly the command lines the plan shows, so a
// rehearsal proves what an operator would type — with their --db in DATABASE_URL, never
// on the command line; exports and verification run in-process (src/dr/).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/context.h"
#include "dr/plan.h"
#include "dr/verify.h"
#include "repo/manifest.h"

namespace pgk::cli {

struct DrRunContext {
  std::string source_conninfo;  // --db
  std::string target_conninfo;  // --to (server-lost)
  std::string restored_conninfo;  // a physically restored server (RestoredConninfo), else ""
  std::string export_dir;
  const repo::Manifest* manifest = nullptr;  // the backup restored
};

struct StepOutcome {
  std::string title;
  std::string kind;  // command | export | manual | verify
  std::string command;
  int exit_code = 0;
  double seconds = 0;
  nlohmann::json result;  // the child's --json document, the export's counts, ...
  std::string error;      // a failed step: the child's last stderr lines or the error
};

struct DrRun {
  std::vector<StepOutcome> steps;
  std::vector<dr::Check> checks;
  std::string reached_time;  // physical recovery: the last replayed commit (PostgreSQL's text)
  bool failed = false;
  int exit_code = 0;
};

// The conninfo where the restored data can be read (side database, replaced database,
// new server, or restored physical server on its port).
Result<std::string> RestoredConninfo(const dr::Plan& plan, const DrRunContext& rc);

// The command line of a step as shown to the user (connection URLs masked).
std::string DisplayCommand(const dr::Step& step, const DrRunContext& rc);

// Runs the steps in order, printing one line per step (unless --json); stops at the first
// failing step.
DrRun RunPlan(const Context& ctx, const dr::Plan& plan, const DrRunContext& rc);

}  // namespace pgk::cli
