// `pgkeeper restore [ID|latest] --repo URL --into NEWDB | --replace DB`: a backup into a
// new database on the --db server (or in place of an existing one, restore_replace.cc),
// verified first and checked against the manifest's row counts after.
#include <unistd.h>

#include <memory>

#include "cli/backup_globals.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "common/log.h"
#include "cli/restore_physical.h"
#include "cli/restore_replace.h"
#include "restore/open.h"
#include "restore/restore.h"

namespace pgk::cli {

namespace {

struct RestoreArgs {
  std::string id = "latest";
  std::string repo;
  std::string key_file;
  std::string into;
  ReplaceArgs replace;
  std::string table;
  int jobs = 0;
  bool no_verify_first = false;
  bool reindex = false;
  ClusterRestoreArgs cluster;
  PhysicalRestoreArgs physical;
};

}  // namespace

nlohmann::json RestoreReportJson(const restore::RestoreReport& r) {
  nlohmann::json mismatches = restore::MismatchesJson(r.mismatches);
  nlohmann::json j = {{"backup", r.backup_id},
                      {"database", r.database},
                      {"files_verified", r.files_verified},
                      {"tables", r.tables},
                      {"rows", r.rows},
                      {"large_objects", r.large_objects},
                      {"counts_match", r.mismatches.empty()},
                      {"mismatches", mismatches},
                      {"seconds", r.seconds}};
  if (!r.restored_table.empty()) j["restored_table"] = r.restored_table;
  if (r.reindexed > 0) j["reindexed"] = r.reindexed;
  return j;
}

void PrintCountMismatches(const Output& out, const std::vector<restore::CountCheck>& mismatches) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : mismatches) {
    rows.push_back(
        {c.table, FormatCount(c.expected), c.actual < 0 ? out.Red("missing") : out.Red(FormatCount(c.actual))});
  }
  out.Line(out.Red("row counts differ from the backup's manifest:"));
  out.Print(RenderTable({{"table"}, {"expected", true}, {"restored", true}}, rows));
}

namespace {

int Run(Context& ctx, const RestoreArgs& a) {
  if (a.physical.Any() || a.cluster.type == "physical") {
    int jobs = a.jobs > 0 ? a.jobs : static_cast<int>(ctx.config.GetInt("backup.jobs").value_or(2));
    return RunPhysicalRestoreCommand(ctx, a.id, a.repo, a.key_file, jobs, a.physical);
  }
  auto target = ctx.Target();
  if (!target.ok()) return ctx.Fail(target.status());
  auto repo = restore::OpenRepositoryForReading(a.repo, a.key_file, ctx.config);
  if (!repo.ok()) return ctx.Fail(repo.status());
  auto manifest = (*repo)->LoadBackup(a.id, a.cluster.type);
  if (!manifest.ok()) return ctx.Fail(manifest.status());
  int jobs = a.jobs > 0 ? a.jobs : static_cast<int>(ctx.config.GetInt("backup.jobs").value_or(2));
  if (manifest->type != "logical" || a.cluster.Any()) {
    return RunGlobalsOrClusterRestore(ctx, **repo, *manifest, a.cluster,
                                      {.server_conninfo = target->conninfo, .into = a.into, .table = a.table,
                                       .replace = a.replace.database, .jobs = jobs, .verify_first = !a.no_verify_first});
  }
  if (!a.replace.database.empty()) {
    ReplaceArgs replace = a.replace;
    replace.jobs = jobs;
    replace.reindex = a.reindex;
    return RunReplace(ctx, **repo, *manifest, replace);
  }
  if (a.into.empty()) {
    return ctx.Fail(Status::InvalidArgument("restore needs --into NEWDB or --replace DB",
                                            "--into creates a new database; --replace swaps an existing one"));
  }

  restore::RestoreOptions o;
  o.server_conninfo = target->conninfo;
  o.into = a.into;
  o.jobs = jobs;
  o.reindex = a.reindex;
  o.verify_first = !a.no_verify_first;
  o.table = a.table;
  ProgressBar bar(isatty(STDERR_FILENO) != 0 && !ctx.out.json() && log::CurrentVerbosity() != log::Verbosity::kQuiet,
                  "restore");
  o.on_total_bytes = [&](int64_t total) { bar.SetTotal(total); };
  o.on_bytes = [&](int64_t n) { bar.Add(n); };
  auto report =
      a.table.empty() ? restore::RestoreDatabase(**repo, *manifest, o) : restore::RestoreTable(**repo, *manifest, o);
  bar.Finish();
  if (!report.ok()) return ctx.Fail(report.status());
  const auto& r = *report;
  if (ctx.out.json()) ctx.out.Json(RestoreReportJson(r));

  if (!r.mismatches.empty()) {
    PrintCountMismatches(ctx.out, r.mismatches);
    std::string kept = r.restored_table.empty() ? "the restored database " + r.database
                                                : "the restored table " + r.restored_table + " in " + r.database;
    Status problem = Status::Problem(
        std::to_string(r.mismatches.size()) + " of " +
            std::to_string(r.restored_table.empty() ? manifest->row_counts.size() : 1) +
            " tables do not have the row count recorded in backup " + r.backup_id,
        kept + " is kept for inspection; `pgkeeper verify " + r.backup_id + "` checks the stored files");
    if (ctx.out.json()) return problem.exit_code();  // the report above is the document
    return ctx.Fail(problem);
  }
  if (!r.restored_table.empty()) {
    ctx.out.Line("restored table " + a.table + " of " + r.backup_id + " into " + r.restored_table + " in " +
                 r.database + ": " + FormatCount(r.rows) + " rows, count matches (" + FormatDuration(r.seconds) + ")");
  } else {
    ctx.out.Line("restored " + r.backup_id + " into " + r.database + ": " + std::to_string(r.tables) + " tables, " +
                 FormatCount(r.rows) + " rows, all counts match (" + FormatDuration(r.seconds) + ")");
  }
  return 0;
}

}  // namespace

void SetupRestore(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<RestoreArgs>();
  cmd->add_option("ID", a->id, "Backup id, or latest (default)");
  cmd->add_option("--repo", a->repo, "Repository URL (default: repository.url)");
  auto* into = cmd->add_option("--into", a->into,
                               "Database to create on the --db server (with --table: an existing one)");
  auto* replace = cmd->add_option("--replace", a->replace.database,
                                  "Replace this existing database: restore beside it, then swap names (destructive)")
                      ->excludes(into);
  cmd->add_flag("--terminate-sessions", a->replace.terminate_sessions,
                "With --replace: disconnect the database's sessions (otherwise refuse while there are any)")
      ->needs(replace);
  cmd->add_flag("--no-safety-backup", a->replace.no_safety_backup,
                "With --replace: skip the safety backup of the database into the repository")
      ->needs(replace);
  cmd->add_flag("--keep-old", a->replace.keep_old,
                "With --replace: keep the replaced database as <db>_old_<time> instead of dropping it")
      ->needs(replace);
  cmd->add_flag("--reindex", a->reindex, "REINDEX what was restored once it is loaded");
  cmd->add_option("--jobs,-j", a->jobs, "Connections loading tables in parallel (default: backup.jobs, else 2)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--key-file", a->key_file, "Encryption key file (default: repository.key_file)");
  cmd->add_option("--table,-t", a->table,
                  "Table-level recovery: load this table's data into <table>_restored beside the live table in --into")
      ->excludes(replace);
  cmd->add_flag("--no-verify-first", a->no_verify_first,
                "Skip reading every file before creating the database (files are still verified as they load)")
      ->excludes(replace);
  AddClusterRestoreOptions(cmd, &a->cluster);
  AddPhysicalRestoreOptions(cmd, &a->physical);
  cmd->footer("--db names the server to restore onto (any database on it, e.g. postgresql://host/postgres).");
  *handler = [a](Context& ctx) { return Run(ctx, *a); };
}

}  // namespace pgk::cli
