// `restore --replace DB` (docs/commands/restore.md), run from cmd_restore.cc.
#pragma once

#include <string>

#include "cli/commands.h"
#include "repo/manifest.h"
#include "repo/repository.h"

namespace pgk::cli {

struct ReplaceArgs {
  std::string database;
  int jobs = 2;
  bool terminate_sessions = false;
  bool no_safety_backup = false;
  bool keep_old = false;
  bool reindex = false;  // --reindex, shared with --into
};

// Confirms (typing DB's name, or --yes), then replaces DB with `m`; prints the report.
// Returns the exit code.
int RunReplace(Context& ctx, repo::Repository& repo, const repo::Manifest& m, const ReplaceArgs& args);

}  // namespace pgk::cli
