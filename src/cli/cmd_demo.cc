// `pgkeeper demo`: the one-command tour. Starts the embedded cluster, creates the example
// application's database, fills it, runs the workload, checks the invariant and runs
// `check`. Each capability adds its step here, so the demo stays the product tour.
#include <chrono>
#include <memory>

#include <spdlog/spdlog.h>

#include "backup/logical.h"
#include "check/report.h"
#include "restore/restore.h"
#include <filesystem>

#include "cli/commands.h"
#include "common/fs.h"
#include "common/hash.h"
#include "demo/example_app.h"
#include "migrate/runner.h"
#include "pg/conninfo.h"
#include "pg/local_cluster.h"
#include "pg/quote.h"
#include "repo/repository.h"
#include "workload/run.h"
#include "workload/seed.h"
#include "workload/verify.h"

namespace pgk::cli {

std::string DescribeInvariant(const workload::InvariantReport& r);  // cmd_workload.cc
void PrintMigrationTable(const Output& out, const migrate::StatusReport& s, const std::string& indent);  // cmd_migrate.cc

namespace {

constexpr const char* kDemoDatabase = "escrowgrid";

struct DemoArgs {
  std::string dir;
  bool keep = false;
  int positions = 5000;
  double workload_seconds = 3;
  double rate = 300;
};

class Steps {
 public:
  explicit Steps(const Output& out) : out_(out) {}
  void Begin(const std::string& name) {
    name_ = name;
    started_ = std::chrono::steady_clock::now();
    ++n_;
  }
  double Done(const std::string& what) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    std::string label = std::to_string(n_) + ". " + name_;
    label.resize(std::max<size_t>(label.size(), 13), ' ');
    out_.Line(" " + out_.Bold(label) + what + out_.Dim("  (" + FormatDuration(s) + ")"));
    return s;
  }

 private:
  const Output& out_;
  std::string name_;
  int n_ = 0;
  std::chrono::steady_clock::time_point started_;
};


// Backup into an encrypted repository beside the cluster, break the database, restore it
// into a new one and verify the restore with the manifest's counts and the invariant.
Status RunBackupTour(const Context& ctx, pg::LocalCluster& cluster, const std::string& app_conninfo, Steps& steps,
                     nlohmann::json& summary) {
  const Output& out = ctx.out;
  std::string repo_dir = (cluster.dir() / "repo").string();
  std::string key_file = (cluster.dir() / "repo.key").string();
  PGK_RETURN_IF_ERROR(fs::RemoveAll(repo_dir));
  if (!std::filesystem::exists(key_file)) {
    // 32 random bytes as hex: the key format PGKEEPER_ENCRYPTION_KEY and key files take.
    PGK_RETURN_IF_ERROR(fs::WriteFile(key_file, RandomHex(32) + "\n"));
  }
  steps.Begin("backup");
  PGK_ASSIGN_OR_RETURN(auto repository, repo::Repository::Open({.url = repo_dir, .key_file = key_file, .create = true}));
  backup::LogicalOptions bo;
  bo.conninfo = app_conninfo;
  bo.tag = "demo";
  PGK_ASSIGN_OR_RETURN(auto backup, backup::RunLogicalBackup(*repository, bo, [](const std::string&) {}));
  const auto& m = backup.manifest;
  steps.Done("backup " + m.id + ": " + std::to_string(m.row_counts.size()) + " tables, " +
             FormatBytes(static_cast<int64_t>(m.original_bytes())) + " -> " +
             FormatBytes(static_cast<int64_t>(m.stored_bytes())) + ", zstd + AES-256-GCM, consistent snapshot, 2 jobs");

  steps.Begin("disaster");
  {
    PGK_ASSIGN_OR_RETURN(pg::Connection conn, pg::Connection::Connect(app_conninfo));
    PGK_RETURN_IF_ERROR(conn.Exec("DROP TABLE audit_events"));
    PGK_ASSIGN_OR_RETURN(auto deleted, conn.Query("DELETE FROM ledger_events WHERE id IN (SELECT id FROM ledger_events "
                                                  "ORDER BY at DESC LIMIT 500)"));
    PGK_ASSIGN_OR_RETURN(auto inv, workload::VerifyInvariant(conn));
    steps.Done("dropped audit_events and deleted " + std::to_string(deleted.Affected()) +
               " ledger events: the invariant now fails (" + std::to_string(inv.unmatched_events) +
               " position events without their ledger event)");
  }

  steps.Begin("restore");
  restore::RestoreOptions ro;
  ro.server_conninfo = cluster.ConnInfo("postgres");
  ro.into = "escrowgrid_restored";
  {
    PGK_ASSIGN_OR_RETURN(pg::Connection admin, pg::Connection::Connect(ro.server_conninfo));
    PGK_RETURN_IF_ERROR(admin.Exec("DROP DATABASE IF EXISTS escrowgrid_restored WITH (FORCE)"));
  }
  // The restore logs each phase; the demo's step line says it all.
  auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::warn);
  auto restored_report = restore::RestoreDatabase(*repository, m, ro);
  spdlog::set_level(level);
  PGK_ASSIGN_OR_RETURN(auto report, std::move(restored_report));
  steps.Done("verified " + std::to_string(report.files_verified) + " files, then restored " + m.id + " into " +
             ro.into + ": " + std::to_string(report.tables) + " tables, " + FormatCount(report.rows) + " rows");

  steps.Begin("verify");
  PGK_ASSIGN_OR_RETURN(pg::Connection restored, pg::Connection::Connect(cluster.ConnInfo(ro.into)));
  PGK_ASSIGN_OR_RETURN(auto inv, workload::VerifyInvariant(restored));
  std::string counts = report.mismatches.empty() ? "all row counts match the manifest"
                                                 : std::to_string(report.mismatches.size()) + " row counts differ";
  steps.Done(counts + "; " + DescribeInvariant(inv));
  summary["backup"] = {{"id", m.id}, {"stored_bytes", m.stored_bytes()}};
  summary["restore"] = {{"database", ro.into}, {"counts_match", report.mismatches.empty()},
                        {"invariant_holds", inv.holds()}};
  if (!report.mismatches.empty() || !inv.holds()) {
    return Status::Problem("the restored database does not match the backup");
  }
  out.Line(out.Dim("      the damaged database stays as it is; the restored copy is " + ro.into));
  return Status::Ok();
}

}  // namespace

void SetupDemo(CLI::App* cmd, Handler* handler) {
  auto args = std::make_shared<DemoArgs>();
  cmd->add_option("--dir", args->dir, "Embedded cluster directory (default ./.pgkeeper-demo)");
  cmd->add_flag("--keep", args->keep, "Leave the cluster running at the end and print its URL");
  cmd->add_option("--positions", args->positions, "Positions to seed")->check(CLI::Range(10, 10000000));
  cmd->add_option("--workload-seconds", args->workload_seconds, "How long the workload runs")
      ->check(CLI::Range(0.0, 3600.0));
  cmd->footer("With --db, the demo uses that server instead of the embedded cluster and creates the database "
              "'escrowgrid' there (refusing to replace an existing one without --yes).");
  *handler = [args](Context& ctx) {
    const Output& out = ctx.out;
    auto total_start = std::chrono::steady_clock::now();
    Steps steps(out);
    nlohmann::json summary;
    out.Line(out.Bold("pgkeeper demo") + " — a tour on " +
             (ctx.options.db.empty() ? "an embedded PostgreSQL cluster" : "the server given with --db"));
    out.Line();

    // 1. The server.
    std::unique_ptr<pg::LocalCluster> cluster;
    std::string admin_conninfo;
    std::string app_conninfo;
    std::string app_url;
    steps.Begin("cluster");
    if (ctx.options.db.empty()) {
      auto c = pg::LocalCluster::Open({.dir = ctx.LocalDir(args->dir), .detached = args->keep});
      if (!c.ok()) return ctx.Fail(c.status());
      cluster = std::move(c).value();
      Status s = cluster->Init();
      if (s.ok()) s = cluster->Start();
      if (!s.ok()) return ctx.Fail(s);
      admin_conninfo = cluster->ConnInfo("postgres");
      app_conninfo = cluster->ConnInfo(kDemoDatabase);
      app_url = cluster->Url(kDemoDatabase);
      steps.Done(std::string(cluster->already_running() ? "reused the running" : "started") + " PostgreSQL " +
                 std::to_string(cluster->binaries().major) + " in " + cluster->dir().string() + " (127.0.0.1:" +
                 std::to_string(cluster->port()) + ", data checksums on)");
      summary["cluster"] = {{"dir", cluster->dir().string()}, {"port", cluster->port()}};
    } else {
      auto target = ctx.Target();
      if (!target.ok()) return ctx.Fail(target.status());
      auto admin = pg::WithDatabase(target->conninfo, "postgres");
      auto app = pg::WithDatabase(target->conninfo, kDemoDatabase);
      if (!admin.ok()) return ctx.Fail(admin.status());
      if (!app.ok()) return ctx.Fail(app.status());
      admin_conninfo = *admin;
      app_conninfo = *app;
      app_url = pg::DisplayConninfo(app_conninfo);
      steps.Done("using " + pg::DisplayConninfo(target->conninfo));
    }

    // 2. The example application's schema.
    steps.Begin("schema");
    {
      auto admin = pg::Connection::Connect(admin_conninfo);
      if (!admin.ok()) return ctx.Fail(admin.status());
      auto exists = admin->QueryValue("SELECT count(*) FROM pg_database WHERE datname = $1", {std::string(kDemoDatabase)});
      if (!exists.ok()) return ctx.Fail(exists.status());
      if (*exists != "0" && !cluster && !ctx.options.yes) {
        return ctx.Fail(Status::Refused(std::string("database ") + kDemoDatabase + " already exists on that server",
                                        "add --yes to replace it, or run the demo without --db"));
      }
      Status s = admin->Exec(std::string("DROP DATABASE IF EXISTS ") + pg::QuoteIdent(kDemoDatabase) + " WITH (FORCE)");
      if (s.ok()) s = admin->Exec(std::string("CREATE DATABASE ") + pg::QuoteIdent(kDemoDatabase));
      if (!s.ok()) return ctx.Fail(s);
    }
    auto conn = pg::Connection::Connect(app_conninfo);
    if (!conn.ok()) return ctx.Fail(conn.status());
    std::string migrations_dir = cluster ? (cluster->dir() / "migrations").string() : "";
    // The demo's own copy: rewritten each run so it matches this binary's example.
    if (!migrations_dir.empty()) (void)fs::RemoveAll(migrations_dir);
    auto applied = demo::ApplyExampleMigrations(*conn, migrations_dir);
    if (!applied.ok()) return ctx.Fail(applied.status());
    steps.Done("created database " + std::string(kDemoDatabase) + "; `migrate up` applied " + std::to_string(*applied) +
               " migrations of the example application (one with CREATE INDEX CONCURRENTLY)");
    summary["migrations_applied"] = *applied;
    if (!migrations_dir.empty()) {
      // What `pgkeeper migrate status` now shows.
      auto files = migrate::LoadMigrations(migrations_dir);
      std::vector<std::string> notes;
      if (files.ok()) {
        migrate::Runner runner(*conn, *files, {});
        auto status = runner.ReadStatus(&notes);
        if (status.ok()) PrintMigrationTable(out, *status, "      ");
      }
    }

    // 3. Data.
    steps.Begin("data");
    auto seeded = workload::Seed(*conn, {.positions = args->positions});
    if (!seeded.ok()) return ctx.Fail(seeded.status());
    steps.Done("seeded " + FormatCount(seeded->total_rows()) + " rows: " + FormatCount(seeded->institutions) +
               " institutions, " + FormatCount(seeded->assets) + " assets, " + FormatCount(seeded->positions) +
               " positions with " + FormatCount(seeded->events) + " state changes");
    summary["seeded_rows"] = seeded->total_rows();

    // 4. Traffic, then the invariant that later proves restores lose nothing.
    steps.Begin("workload");
    auto run = workload::Run({.conninfo = app_conninfo, .rate = args->rate, .duration_s = args->workload_seconds,
                              .clients = 2});
    if (!run.ok()) return ctx.Fail(run.status());
    auto inv = workload::VerifyInvariant(*conn);
    if (!inv.ok()) return ctx.Fail(inv.status());
    steps.Done(FormatCount(run->state_changes) + " state changes in " + FormatDuration(run->elapsed_s) +
               " on 2 connections; " + DescribeInvariant(*inv));
    summary["workload"] = {{"state_changes", run->state_changes}, {"invariant_holds", inv->holds()}};
    if (!inv->holds()) return ctx.Fail(Status::Problem(DescribeInvariant(*inv)));
    (void)conn->Exec("ANALYZE");

    // 5. The operator's first command.
    steps.Begin("check");
    auto report = check::RunCheck(*conn, {.config = &ctx.config, .conninfo = app_conninfo});
    if (!report.ok()) return ctx.Fail(report.status());
    int warnings = report->Count(check::Severity::kWarning);
    int errors = report->Count(check::Severity::kError);
    steps.Done(std::string(report->Healthy(false) ? "healthy" : "unhealthy") + ": PostgreSQL " +
               report->server_version + ", " + FormatBytes(report->database_bytes) + ", " +
               std::to_string(report->tables.size()) + " tables, " + std::to_string(errors) +
               (errors == 1 ? " error, " : " errors, ") + std::to_string(warnings) +
               (warnings == 1 ? " warning" : " warnings"));
    for (const auto& f : report->findings) {
      if (f.severity >= check::Severity::kWarning) {
        out.Line("      " + (f.severity == check::Severity::kError ? out.Red("FAIL ") : out.Yellow("WARN ")) + f.message);
      }
    }
    summary["check"] = report->ToJson(false);

    // 6-9. The safety net: backup, a disaster, restore, and proof that nothing was lost.
    if (cluster) {
      Status s = RunBackupTour(ctx, *cluster, app_conninfo, steps, summary);
      if (!s.ok()) return ctx.Fail(s);
    }

    double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - total_start).count();
    out.Line();
    out.Line("Done in " + FormatDuration(total) + ".");
    out.Line();
    out.Line(out.Bold("Try next"));
    std::string db_flag = "--db " + app_url;
    // `local` finds ./.pgkeeper-demo (or local.dir) by itself; a --dir must be named again.
    std::string dir_flag = args->dir.empty() || !cluster ? "" : " --dir " + cluster->dir().string();
    if (cluster && args->keep) {
      out.Line("  export PGPASSFILE=" + cluster->pgpass_path().string());
      out.Line("  pgkeeper check " + db_flag + " --exact       exact row counts");
      out.Line("  pgkeeper migrate status --dir " + (cluster->dir() / "migrations").string() + " " + db_flag);
      out.Line("  pgkeeper check " + db_flag + " --json        the same report for scripts");
      out.Line("  pgkeeper workload run " + db_flag + " --rate 500 --duration 30");
      out.Line("  pgkeeper workload verify " + db_flag);
      out.Line("  psql " + app_url);
      out.Line("  pgkeeper local stop" + dir_flag + "          stop the cluster (pgkeeper local destroy" + dir_flag +
               " --yes removes it)");
    } else if (cluster) {
      out.Line("  pgkeeper demo --keep         the same, leaving the cluster running to explore");
      out.Line("  pgkeeper check --help        the report against your own database (--db or DATABASE_URL)");
      out.Line("  pgkeeper local start" + dir_flag + "         start the demo cluster again, and `local stop` to stop it");
      out.Line("  pgkeeper backups list --repo " + (cluster->dir() / "repo").string() + " --key-file " +
               (cluster->dir() / "repo.key").string());
      out.Line("  pgkeeper migrate lint --dir " + (cluster->dir() / "migrations").string());
      out.Line("                               lint the example application's migrations");
    } else {
      out.Line("  pgkeeper check " + db_flag + " --exact");
      out.Line("  pgkeeper workload verify " + db_flag);
    }
    if (cluster && !args->keep) {
      Status s = cluster->Stop();
      if (!s.ok()) return ctx.Fail(s);
      out.Line();
      out.Line(out.Dim("The cluster is stopped; its data stays in " + cluster->dir().string() +
                       " (pgkeeper local destroy --yes removes it)."));
    }
    summary["seconds"] = total;
    summary["url"] = app_url;
    if (out.json()) out.Json(summary);
    return 0;
  };
}

}  // namespace pgk::cli
