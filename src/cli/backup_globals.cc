// `backup --type globals|cluster`: runs the backup and renders its summary.
#include "cli/backup_globals.h"

#include <cstdio>

namespace pgk::cli {

Result<backup::GlobalsResult> RunGlobalsOrClusterBackup(repo::Repository& repo, const std::string& type,
                                                        const backup::LogicalOptions& o,
                                                        const std::vector<std::string>& exclude_databases,
                                                        const std::function<void(const std::string&)>& progress) {
  if (type != "cluster" && !exclude_databases.empty()) {
    return Status::InvalidArgument("--exclude-database applies to cluster backups", "add --type cluster");
  }
  if (type == "globals") return backup::RunGlobalsBackup(repo, o, progress);
  if (type != "cluster") return Status::Internal("backup type " + type + " is not a globals or cluster backup");
  return backup::RunClusterBackup(repo, {.logical = o, .exclude_databases = exclude_databases}, progress);
}

int PrintGlobalsOrClusterBackup(const Context& ctx, const std::string& repo_url,
                                const Result<backup::GlobalsResult>& result) {
  if (!result.ok()) return ctx.Fail(result.status());
  const auto& r = *result;
  const auto& m = r.manifest;
  nlohmann::json databases = nlohmann::json::array();
  int64_t tables = 0, rows = 0;
  std::string names;
  for (const auto& d : m.databases) {
    int64_t n = 0;
    for (const auto& [t, c] : d.row_counts) n += c;
    databases.push_back({{"name", d.name}, {"tables", d.row_counts.size()}, {"rows", n}});
    tables += static_cast<int64_t>(d.row_counts.size());
    rows += n;
    names += (names.empty() ? "" : ", ") + d.name;
  }
  if (ctx.out.json()) {
    nlohmann::json j = {{"id", m.id},
                        {"type", m.type},
                        {"repository", repo_url},
                        {"roles", r.roles},
                        {"tablespaces", r.tablespaces},
                        {"original_bytes", m.original_bytes()},
                        {"stored_bytes", m.stored_bytes()},
                        {"seconds", m.duration_s},
                        {"encrypted", m.cipher != "none"}};
    if (m.type == "cluster") {
      j["databases"] = databases;
      j["tables"] = tables;
      j["rows"] = rows;
    }
    if (!r.warning.empty()) j["warning"] = r.warning;
    ctx.out.Json(j);
    return 0;
  }
  std::string what = std::to_string(r.roles) + (r.roles == 1 ? " role, " : " roles, ") + std::to_string(r.tablespaces) +
                     (r.tablespaces == 1 ? " tablespace" : " tablespaces");
  if (m.type == "cluster") {
    what += ", " + std::to_string(m.databases.size()) + (m.databases.size() == 1 ? " database (" : " databases (") +
            names + "), " + std::to_string(tables) + " tables, " + FormatCount(rows) + " rows";
  }
  ctx.out.Line("backup " + m.id + " (" + m.type + "): " + what + ", " +
               FormatBytes(static_cast<int64_t>(m.original_bytes())) + " -> " +
               FormatBytes(static_cast<int64_t>(m.stored_bytes())) + (m.cipher != "none" ? " (encrypted)" : "") +
               " in " + FormatDuration(m.duration_s) + " to " + repo_url);
  ctx.out.Line(
      ctx.out.Dim("role passwords are not backed up: after a restore, set them with `pgkeeper roles "
                  "reset-passwords`"));
  if (!r.warning.empty()) ctx.out.Line(ctx.out.Yellow("warning: ") + r.warning);
  return 0;
}

}  // namespace pgk::cli
