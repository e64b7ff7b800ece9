// `pgkeeper restore [ID|latest] --repo URL --into NEWDB`: a backup into a new database on
// the --db server, verified first and checked against the manifest's row counts after.
#include <memory>

#include "cli/commands.h"
#include "restore/open.h"
#include "restore/restore.h"

namespace pgk::cli {

namespace {

struct RestoreArgs {
  std::string id = "latest";
  std::string repo;
  std::string key_file;
  std::string into;
  std::string table;
  int jobs = 0;
  bool no_verify_first = false;
};

nlohmann::json ReportJson(const restore::RestoreReport& r) {
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
  return j;
}

void PrintMismatches(const Output& out, const restore::RestoreReport& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : r.mismatches) {
    rows.push_back(
        {c.table, FormatCount(c.expected), c.actual < 0 ? out.Red("missing") : out.Red(FormatCount(c.actual))});
  }
  out.Line(out.Red("row counts differ from the backup's manifest:"));
  out.Print(RenderTable({{"table"}, {"expected", true}, {"restored", true}}, rows));
}

int Run(Context& ctx, const RestoreArgs& a) {
  auto target = ctx.Target();
  if (!target.ok()) return ctx.Fail(target.status());
  auto repo = restore::OpenRepositoryForReading(a.repo, a.key_file, ctx.config);
  if (!repo.ok()) return ctx.Fail(repo.status());
  auto manifest = (*repo)->LoadBackup(a.id);
  if (!manifest.ok()) return ctx.Fail(manifest.status());

  restore::RestoreOptions o;
  o.server_conninfo = target->conninfo;
  o.into = a.into;
  o.jobs = a.jobs > 0 ? a.jobs : static_cast<int>(ctx.config.GetInt("backup.jobs").value_or(2));
  o.verify_first = !a.no_verify_first;
  o.table = a.table;
  auto report =
      a.table.empty() ? restore::RestoreDatabase(**repo, *manifest, o) : restore::RestoreTable(**repo, *manifest, o);
  if (!report.ok()) return ctx.Fail(report.status());
  const auto& r = *report;
  if (ctx.out.json()) ctx.out.Json(ReportJson(r));

  if (!r.mismatches.empty()) {
    PrintMismatches(ctx.out, r);
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
  cmd->add_option("--into", a->into, "Database to create on the --db server (with --table: an existing one)")
      ->required();
  cmd->add_option("--jobs,-j", a->jobs, "Connections loading tables in parallel (default: backup.jobs, else 2)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--key-file", a->key_file, "Encryption key file (default: repository.key_file)");
  cmd->add_option("--table,-t", a->table,
                  "Table-level recovery: load this table's data into <table>_restored beside the live table in --into");
  cmd->add_flag("--no-verify-first", a->no_verify_first,
                "Skip reading every file before creating the database (files are still verified as they load)");
  cmd->footer("--db names the server to restore onto (any database on it, e.g. postgresql://host/postgres).");
  *handler = [a](Context& ctx) { return Run(ctx, *a); };
}

}  // namespace pgk::cli
