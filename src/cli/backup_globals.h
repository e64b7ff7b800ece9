// `backup --type globals|cluster` and `restore` of such backups: what cmd_backup.cc and
// cmd_restore.cc hand over once they know the backup is not a logical one.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "backup/globals.h"
#include "cli/context.h"
#include "repo/repository.h"

namespace pgk::cli {

// Runs the backup of `type` ("globals" or "cluster") with the logical backup's options.
Result<backup::GlobalsResult> RunGlobalsOrClusterBackup(repo::Repository& repo, const std::string& type,
                                                        const backup::LogicalOptions& o,
                                                        const std::vector<std::string>& exclude_databases,
                                                        const std::function<void(const std::string&)>& progress);
// Prints the result (or the error) and returns the exit code.
int PrintGlobalsOrClusterBackup(const Context& ctx, const std::string& repo_url,
                                const Result<backup::GlobalsResult>& result);

// The restore options that only globals and cluster backups take.
struct ClusterRestoreArgs {
  std::string type = "logical";  // which kind of backup `latest` means
  std::vector<std::string> only;
  std::vector<std::string> exclude;
  std::string prefix;
  bool no_globals = false;
  bool no_tablespaces = false;
  // True when any option above (other than type) was given.
  bool Any() const { return !only.empty() || !exclude.empty() || !prefix.empty() || no_globals || no_tablespaces; }
};
void AddClusterRestoreOptions(CLI::App* cmd, ClusterRestoreArgs* a);

struct RestoreCommon {
  std::string server_conninfo;
  std::string into;
  std::string table;
  std::string replace;  // --replace DB: logical backups only
  int jobs = 2;
  bool verify_first = true;
};
// Restores a globals or cluster backup (refuses options that do not apply to `m`'s type,
// including these options for a logical backup). Returns the exit code.
int RunGlobalsOrClusterRestore(const Context& ctx, repo::Repository& repo, const repo::Manifest& m,
                               const ClusterRestoreArgs& a, const RestoreCommon& common);

}  // namespace pgk::cli
