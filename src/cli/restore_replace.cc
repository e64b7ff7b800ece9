// `pgkeeper restore [ID] --replace DB`: the CLI side of restore::ReplaceDatabase — the
// typed confirmation, the safety backup (a logical backup tagged "safety" into the same
// repository) and the report.
#include "cli/restore_replace.h"

#include <unistd.h>

#include <optional>

#include "backup/logical.h"
#include "cli/progress.h"
#include "cli/prompt.h"
#include "common/log.h"
#include "pipeline/compress.h"
#include "restore/replace.h"

namespace pgk::cli {

nlohmann::json RestoreReportJson(const restore::RestoreReport& r);                                 // cmd_restore.cc
void PrintCountMismatches(const Output& out, const std::vector<restore::CountCheck>& mismatches);  // cmd_restore.cc

namespace {

Result<std::string> SafetyBackup(const Context& ctx, repo::Repository& repo, int jobs, const std::string& conninfo) {
  backup::LogicalOptions o;
  o.conninfo = conninfo;
  o.jobs = jobs;
  o.tag = "safety";
  PGK_ASSIGN_OR_RETURN(o.compression,
                       pipeline::ParseCompression(ctx.config.GetString("backup.compression").value_or("zstd")));
  o.compression_level = static_cast<int>(ctx.config.GetInt("backup.compression_level").value_or(0));
  PGK_ASSIGN_OR_RETURN(auto result,
                       backup::RunLogicalBackup(repo, o, [](const std::string& event) { log::Debug("{}", event); }));
  return result.manifest.id;
}

nlohmann::json ReplaceJson(const restore::ReplaceReport& r, const std::string& db) {
  nlohmann::json j = RestoreReportJson(r.restore);
  j["database"] = db;
  j["temporary_database"] = r.restore.database;
  j["replaced"] = r.replaced;
  j["safety_backup"] = r.safety_backup.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.safety_backup);
  j["terminated_sessions"] = r.terminated_sessions;
  j["dropped_leftovers"] = r.dropped_leftovers;
  j["old_database"] = r.old_database.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.old_database);
  j["swap_seconds"] = r.swap_seconds;
  j["reindexed"] = r.restore.reindexed;
  return j;
}

}  // namespace

int RunReplace(Context& ctx, repo::Repository& repo, const repo::Manifest& m, const ReplaceArgs& a) {
  auto target = ctx.Target();
  if (!target.ok()) return ctx.Fail(target.status());
  const std::string& db = a.database;
  restore::ReplaceOptions o;
  o.server_conninfo = target->conninfo;
  o.database = db;
  o.jobs = a.jobs;
  o.terminate_sessions = a.terminate_sessions;
  o.keep_old = a.keep_old;
  o.reindex = a.reindex;
  o.confirm = [&] {
    return ConfirmByTyping(ctx,
                           "restore --replace puts backup " + m.id + " in place of database " + db + " on " +
                               pg::DisplayConninfo(target->conninfo) +
                               (a.no_safety_backup ? " (no safety backup)" : " (after a safety backup)"),
                           db);
  };
  if (!a.no_safety_backup) {
    o.safety_backup = [&](const std::string& conninfo) { return SafetyBackup(ctx, repo, a.jobs, conninfo); };
  }
  // Drawn from the data load on, not before: the typed confirmation and the safety
  // backup's own output come first.
  std::optional<ProgressBar> bar;
  o.on_total_bytes = [&](int64_t total) {
    bar.emplace(isatty(STDERR_FILENO) != 0 && !ctx.out.json() && log::CurrentVerbosity() != log::Verbosity::kQuiet,
                "restore");
    bar->SetTotal(total);
  };
  o.on_bytes = [&](int64_t n) {
    if (bar) bar->Add(n);  // set before the loading threads start
  };
  auto report = restore::ReplaceDatabase(repo, m, o);
  if (bar) bar->Finish();
  if (!report.ok()) return ctx.Fail(report.status());
  const auto& r = *report;
  const Output& out = ctx.out;
  if (out.json()) out.Json(ReplaceJson(r, db));

  if (!r.safety_backup.empty()) {
    out.Line("safety backup " + r.safety_backup + " of " + db + ": `pgkeeper restore " + r.safety_backup +
             " --replace " + db + "` goes back to it");
  }
  if (!r.replaced) {
    PrintCountMismatches(out, r.restore.mismatches);
    Status problem = Status::Problem(
        std::to_string(r.restore.mismatches.size()) + " of " + std::to_string(m.row_counts.size()) +
            " tables do not have the row count recorded in backup " + m.id + ": " + db + " was not replaced",
        db + " is untouched and the restored copy was dropped; `pgkeeper restore " + m.id +
            " --into NEWDB` keeps a copy to inspect");
    if (out.json()) return problem.exit_code();
    return ctx.Fail(problem);
  }
  if (r.terminated_sessions > 0)
    out.Line("terminated " + std::to_string(r.terminated_sessions) + " session(s) on " + db);
  if (r.restore.reindexed > 0) out.Line("reindexed " + std::to_string(r.restore.reindexed) + " indexes");
  out.Line("replaced " + db + " with backup " + m.id + ": " + std::to_string(r.restore.tables) + " tables, " +
           FormatCount(r.restore.rows) + " rows, all counts match (" + FormatDuration(r.restore.seconds) + "; " + db +
           " was swapped in " + std::to_string(static_cast<int>(r.swap_seconds * 1000)) + " ms)");
  if (!r.old_not_dropped.empty()) {
    out.Line(out.Yellow("warning: ") + "the old database could not be dropped (" + r.old_not_dropped +
             "): it is left as " + r.old_database + "; drop it by hand");
  } else if (!r.old_database.empty()) {
    out.Line("the old database is kept as " + r.old_database);
  }
  return 0;
}

}  // namespace pgk::cli
