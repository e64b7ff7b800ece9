// `restore --pgdata DIR`: restoring a physical backup (point-in-time recovery), what
// cmd_restore.cc hands over to when --pgdata is given or the backup is physical.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/context.h"
#include "physical/recovery.h"

namespace pgk::cli {

struct PhysicalRestoreArgs {
  std::string pgdata;
  bool delta = false;
  bool force = false;
  physical::TargetFlags target;
  bool start = false;
  int port = 0;
  int start_timeout_s = 0;
  // True when any option that only physical restores take was given.
  bool Any() const {
    return !pgdata.empty() || delta || force || start || port > 0 || !target.time.empty() || !target.xid.empty() ||
           !target.lsn.empty() || !target.name.empty() || target.immediate || !target.timeline.empty() ||
           !target.action.empty() || target.exclusive;
  }
};
void AddPhysicalRestoreOptions(CLI::App* cmd, PhysicalRestoreArgs* a);

// `id` is a backup id or "latest" (the newest physical backup that can reach the target).
int RunPhysicalRestoreCommand(const Context& ctx, const std::string& id, const std::string& repo_flag,
                              const std::string& key_file_flag, int jobs, const PhysicalRestoreArgs& a);

}  // namespace pgk::cli
