// `pgkeeper drill [ID|latest] --repo URL`: proves a backup restores. Restores it into a
// scratch database (on the embedded cluster, or with --target server on the --db server),
// checks row counts and, when the live database is still at the backup's migration
// version, the schema; measures the restore time, drops the scratch database and records
// the drill in the repository.
#include <memory>

#include "cli/commands.h"
#include "cli/scratch_server.h"
#include "drill/drill.h"
#include "repo/repository.h"
#include "restore/globals.h"

namespace pgk::cli {

Result<std::unique_ptr<repo::Repository>> OpenRepository(const Context& ctx, const std::string& repo_flag,
                                                         const std::string& key_file_flag,
                                                         bool create);  // cmd_backup.cc

namespace {

struct DrillArgs {
  std::string id = "latest";
  std::string repo;
  std::string key_file;
  std::string target = "local";
  std::string dir;
  int jobs = 0;
  bool keep = false;
};

void PrintReport(const Output& out, const drill::DrillReport& r) {
  if (!r.mismatches.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : r.mismatches) {
      rows.push_back(
          {c.table, FormatCount(c.expected), c.actual < 0 ? out.Red("missing") : out.Red(FormatCount(c.actual))});
    }
    out.Line(out.Red("row counts differ from the backup's manifest:"));
    out.Print(RenderTable({{"table"}, {"expected", true}, {"restored", true}}, rows));
  }
  if (!r.schema_differences.empty()) {
    out.Line(out.Red("the restored schema differs from " + r.schema_compared_with + ":"));
    for (const auto& d : r.schema_differences) out.Line("  " + d);
  }
  out.Line("restored " + r.backup_id + " (" + r.target + ") in " + FormatDuration(r.seconds) + ": " +
           std::to_string(r.tables) + " tables, " + FormatCount(r.rows) + " rows, " +
           (r.mismatches.empty() ? "all counts match" : std::to_string(r.mismatches.size()) + " counts differ"));
  if (r.schema_compared) {
    out.Line(r.schema_differences.empty() ? "schema matches " + r.schema_compared_with
                                          : std::to_string(r.schema_differences.size()) + " schema differences");
  } else {
    out.Line(out.Yellow(r.schema_note));
  }
  out.Line(r.kept ? "kept the scratch database " + r.database : "dropped the scratch database " + r.database);
  if (!r.record_path.empty()) out.Line("recorded in " + r.record_path);
  out.Line(r.passed() ? out.Green("drill passed") : out.Red("drill failed"));
}

int Run(Context& ctx, const DrillArgs& a) {
  auto repository = OpenRepository(ctx, a.repo, a.key_file, false);
  if (!repository.ok()) return ctx.Fail(repository.status());
  auto manifest = (*repository)->LoadBackup(a.id, "logical");  // latest: the newest logical backup
  if (!manifest.ok()) return ctx.Fail(manifest.status());
  // Before any scratch server starts: a drill restores one database.
  if (Status logical = restore::RefuseUnlessLogical(*manifest); !logical.ok()) return ctx.Fail(logical);

  drill::DrillOptions o;
  o.target = a.target;
  o.keep = a.keep;
  o.jobs = a.jobs > 0 ? a.jobs : static_cast<int>(ctx.config.GetInt("backup.jobs").value_or(2));
  // The live database is optional for a local drill: without it the schema is not compared.
  auto live = ctx.Target();
  if (live.ok()) o.live_conninfo = live->conninfo;
  auto scratch = ScratchServer::Start(ctx, a.target, a.dir);
  if (!scratch.ok()) return ctx.Fail(scratch.status());
  o.server_conninfo = (*scratch)->conninfo();

  auto report = drill::RunDrill(**repository, *manifest, o);
  Status stopped = (*scratch)->Stop();
  if (!stopped.ok() && report.ok()) return ctx.Fail(stopped);
  if (!report.ok()) return ctx.Fail(report.status());
  Status stored = drill::StoreRecord(**repository, &*report);
  if (!stored.ok()) return ctx.Fail(stored);

  const auto& r = *report;
  if (ctx.out.json()) {
    nlohmann::json j = drill::RecordJson(r);
    j["database"] = r.database;
    j["kept"] = r.kept;
    j["record"] = r.record_path;
    ctx.out.Json(j);
  } else {
    PrintReport(ctx.out, r);
  }
  if (r.passed()) return 0;
  Status problem = Status::Problem(
      "drill of backup " + r.backup_id + " failed: " + std::to_string(r.mismatches.size()) + " row count mismatches, " +
          std::to_string(r.schema_differences.size()) + " schema differences",
      "`pgkeeper verify " + r.backup_id + "` checks the stored files; --keep leaves the scratch database to inspect");
  if (ctx.out.json()) return problem.exit_code();  // the document above says it all
  return ctx.Fail(problem);
}

}  // namespace

void SetupDrill(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<DrillArgs>();
  cmd->add_option("ID", a->id, "Backup id, or latest (default)");
  cmd->add_option("--repo", a->repo, "Repository URL (default: repository.url)");
  cmd->add_option("--key-file", a->key_file, "Encryption key file (default: repository.key_file)");
  cmd->add_option("--target", a->target,
                  "Where the scratch database goes: local (the embedded cluster) or server (--db)")
      ->check(CLI::IsMember({"local", "server"}));
  cmd->add_option("--dir", a->dir, "The embedded cluster's directory (default: local.dir, else ./.pgkeeper-demo)");
  cmd->add_option("--jobs,-j", a->jobs, "Connections loading tables in parallel (default: backup.jobs, else 2)")
      ->check(CLI::Range(1, 64));
  cmd->add_flag("--keep", a->keep, "Keep the scratch database for inspection");
  cmd->footer(
      "--db names the live database: its schema is compared with the restored one when it is still at the "
      "backup's migration version; with --target server the scratch database is created on its server.");
  *handler = [a](Context& ctx) { return Run(ctx, *a); };
}

}  // namespace pgk::cli
