// `backup --type physical`: the options only physical backups take, and the run and
// summary cmd_backup.cc hands over to.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "backup/logical.h"
#include "cli/context.h"
#include "repo/repository.h"

namespace pgk::cli {

struct PhysicalBackupArgs {
  std::string mode;      // full | diff | incr ("" = backup.mode, else incr)
  std::string pgdata;
  std::string source;    // auto | pgdata | replication ("" = backup.source, else auto)
  int archive_timeout_s = -1;
  bool spread_checkpoint = false;
  // True when any physical-only option was given (refused for other types).
  bool Any() const {
    return !mode.empty() || !pgdata.empty() || !source.empty() || archive_timeout_s >= 0 || spread_checkpoint;
  }
};
void AddPhysicalBackupOptions(CLI::App* cmd, PhysicalBackupArgs* a);

// Runs the physical backup with the shared options of `common` (conninfo, jobs,
// compression, level, tag), prints its summary and returns the exit code: 1 when pages
// failed their checksum (the backup is complete and listed).
int RunPhysicalBackupCommand(const Context& ctx, repo::Repository& repository, const backup::LogicalOptions& common,
                             const PhysicalBackupArgs& a, const std::function<void(const std::string&)>& progress);

}  // namespace pgk::cli
