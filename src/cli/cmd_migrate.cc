// `pgkeeper migrate ...`: golang-migrate compatible, locked, checksummed migrations.
#include <filesystem>
#include <memory>

#include "backup/logical.h"
#include "cli/commands.h"
#include "common/fs.h"
#include "migrate/create.h"
#include "migrate/files.h"
#include "migrate/history.h"
#include "migrate/lint.h"
#include "migrate/plan.h"
#include "migrate/runner.h"

namespace pgk::cli {

Result<std::unique_ptr<repo::Repository>> OpenRepository(const Context& ctx, const std::string& repo_flag,
                                                         const std::string& key_file_flag, bool create);  // cmd_backup.cc

namespace {

struct MigrateArgs {
  std::string dir;
  std::string table;
  double lock_timeout_s = -1;
  int ddl_lock_timeout_ms = -1;
  int statement_timeout_ms = -1;
  bool dry_run = false;
  bool allow_changed = false;
  bool allow_out_of_order = false;
  bool backup_first = false;
  std::string repo;
  bool all = false;
  bool include_down = false;
  int n = 0;
  uint64_t version = 0;
  std::string title;
  std::string from;
  std::string from_table;
  std::vector<std::string> files;
};

std::string Dir(const Context& ctx, const MigrateArgs& a) {
  if (!a.dir.empty()) return a.dir;
  return ctx.config.GetString("migrations.dir").value_or("migrations");
}

Result<migrate::RunnerOptions> Options(const Context& ctx, const MigrateArgs& a) {
  migrate::RunnerOptions o;
  std::string table = !a.table.empty() ? a.table : ctx.config.GetString("migrations.table").value_or("public.schema_migrations");
  PGK_ASSIGN_OR_RETURN(o.table, migrate::ParseTableName(table));
  o.lock_wait_s = a.lock_timeout_s >= 0 ? a.lock_timeout_s
                                        : static_cast<double>(ctx.config.GetInt("migrations.lock_timeout").value_or(60));
  o.ddl_lock_timeout_ms = a.ddl_lock_timeout_ms >= 0
                              ? a.ddl_lock_timeout_ms
                              : static_cast<int>(ctx.config.GetInt("migrations.ddl_lock_timeout").value_or(5000));
  o.statement_timeout_ms = a.statement_timeout_ms >= 0
                               ? a.statement_timeout_ms
                               : static_cast<int>(ctx.config.GetInt("migrations.statement_timeout").value_or(0));
  o.plan = {.allow_changed = a.allow_changed, .allow_out_of_order = a.allow_out_of_order};
  return o;
}

std::string VersionText(const migrate::Entry& e) { return e.file ? e.file->version_text : std::to_string(e.version); }

nlohmann::json EntryJson(const migrate::Entry& e) {
  nlohmann::json j = {{"version", e.version}, {"name", e.name}, {"state", migrate::StateName(e.state)}};
  if (e.file) {
    j["file"] = e.file->up_file_name();
    j["layout"] = migrate::LayoutName(e.file->layout);
    j["reversible"] = e.file->has_down();
    j["no_transaction"] = e.file->up_no_transaction;
  }
  if (e.applied) {
    j["applied_at"] = e.applied->applied_at;
    j["duration_ms"] = e.applied->duration_ms;
    j["applied_by"] = e.applied->applied_by;
    j["applied_host"] = e.applied->applied_host;
    j["source"] = e.applied->source;
    if (!e.applied->error.empty()) j["error"] = e.applied->error;
  }
  return j;
}

nlohmann::json StatusJson(const migrate::StatusReport& s, const std::vector<std::string>& notes) {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& e : s.entries) entries.push_back(EntryJson(e));
  return {{"current_version", s.current ? nlohmann::json(*s.current) : nlohmann::json(nullptr)},
          {"dirty", s.failed.has_value()},
          {"counts",
           {{"applied", s.Count(migrate::State::kApplied)},
            {"pending", s.Count(migrate::State::kPending)},
            {"missing", s.Count(migrate::State::kMissing)},
            {"changed", s.Count(migrate::State::kChanged)},
            {"failed", s.Count(migrate::State::kFailed)}}},
          {"migrations", entries},
          {"notes", notes}};
}

void PrintNotes(const Output& out, const std::vector<std::string>& notes) {
  for (const auto& n : notes) out.Line(out.Yellow("note: ") + n);
}

}  // namespace

// Shared with the demo. `indent` prefixes every line of the table.
void PrintMigrationTable(const Output& out, const migrate::StatusReport& s, const std::string& indent) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : s.entries) {
    std::string state = migrate::StateName(e.state);
    switch (e.state) {
      case migrate::State::kApplied:
        state = out.Green(state);
        break;
      case migrate::State::kPending:
        state = out.Yellow(state);
        break;
      default:
        state = out.Red(state);
    }
    std::string name = e.file ? e.file->title : (e.applied ? e.applied->name : "");
    if (e.file && e.file->up_no_transaction) name += out.Dim(" (no-transaction)");
    std::vector<std::string> row = {VersionText(e), name, state};
    if (e.applied) {
      row.push_back(e.applied->applied_at);
      row.push_back(FormatDuration(static_cast<double>(e.applied->duration_ms) / 1000));
      row.push_back(e.applied->applied_by + (e.applied->applied_host.empty() || e.applied->applied_host == "unknown"
                                                 ? ""
                                                 : "@" + e.applied->applied_host));
    }
    rows.push_back(row);
  }
  if (rows.empty()) {
    out.Line(indent + "no migrations");
  } else {
    out.Print(RenderTable({{"version"}, {"name"}, {"state"}, {"applied at"}, {"took", true}, {"by"}}, rows, indent));
  }
}

namespace {

void PrintStatus(const Output& out, const migrate::StatusReport& s, const std::string& dir, const std::string& table) {
  out.Line("migrations in " + dir + ", history in " + table);
  out.Line();
  PrintMigrationTable(out, s, "  ");
  out.Line();
  std::string summary = s.current ? "at version " + std::to_string(*s.current) : "no migration applied";
  for (auto st : {migrate::State::kApplied, migrate::State::kPending, migrate::State::kMissing, migrate::State::kChanged,
                  migrate::State::kFailed}) {
    int n = s.Count(st);
    if (n) summary += ", " + std::to_string(n) + " " + migrate::StateName(st);
  }
  out.Line(summary);
  for (const auto& e : s.entries) {
    if (e.state == migrate::State::kFailed && e.applied && !e.applied->error.empty()) {
      out.Line(out.Red("failed: ") + e.name + ": " + e.applied->error);
    }
  }
}

// Lint findings for the files about to be applied; shown, never blocking.
nlohmann::json LintPlan(const Output& out, const std::vector<migrate::Step>& steps) {
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& step : steps) {
    if (!step.up) continue;
    for (const auto& f : migrate::LintMigration(step.file->up_file_name(), step.file->up_sql, step.file->up_no_transaction)) {
      findings.push_back({{"file", f.file}, {"line", f.line}, {"rule", f.rule},
                          {"severity", migrate::LintSeverityName(f.severity)}, {"message", f.message}});
      out.Line(out.Yellow("lint: ") + f.file + ":" + std::to_string(f.line) + ": " + f.message + out.Dim(" [" + f.rule + "]"));
    }
  }
  return findings;
}

// What every database-touching subcommand needs: options, the files, a connection and
// a runner over them. Heap-allocated so that the runner's references stay valid.
struct Session {
  migrate::RunnerOptions options;
  std::string dir;
  migrate::MigrationSet files;
  std::optional<pg::Connection> conn;
  std::optional<migrate::Runner> runner;
};

Result<std::unique_ptr<Session>> OpenSession(const Context& ctx, const MigrateArgs& a) {
  auto s = std::make_unique<Session>();
  PGK_ASSIGN_OR_RETURN(s->options, Options(ctx, a));
  s->dir = Dir(ctx, a);
  PGK_ASSIGN_OR_RETURN(s->files, migrate::LoadMigrations(s->dir));
  PGK_ASSIGN_OR_RETURN(pg::Connection conn, ctx.Connect("pgkeeper-migrate@" + migrate::LocalHostName()));
  s->conn.emplace(std::move(conn));
  s->runner.emplace(*s->conn, s->files, s->options);
  return s;
}

// The safety backup of --backup-first: a full logical backup tagged pre-migration. The
// migration does not start unless it succeeded.
Status SafetyBackup(const Context& ctx, const MigrateArgs& a) {
  auto target = ctx.Target();
  if (!target.ok()) return target.status();
  auto repository = OpenRepository(ctx, a.repo, "", true);
  if (!repository.ok()) {
    return repository.status().WithContext("--backup-first").WithHint(
        "name the repository with --repo or repository.url; " + repository.status().hint());
  }
  backup::LogicalOptions o;
  o.conninfo = target->conninfo;
  o.tag = "pre-migration";
  auto result = backup::RunLogicalBackup(**repository, o, [](const std::string&) {});
  if (!result.ok()) return result.status().WithContext("safety backup before migrating (nothing was applied)");
  ctx.out.Line("safety backup " + result->manifest.id + " written to " + (*repository)->Url());
  return Status::Ok();
}

int RunPlan(Context& ctx, const MigrateArgs& a, const std::string& verb, const migrate::Planner& planner) {
  if (a.backup_first && !a.dry_run) {
    Status s = SafetyBackup(ctx, a);
    if (!s.ok()) return ctx.Fail(s);
  }
  auto session = OpenSession(ctx, a);
  if (!session.ok()) return ctx.Fail(session.status());
  migrate::Runner& runner = *(*session)->runner;
  const migrate::RunnerOptions* opts = &(*session)->options;
  const Output& out = ctx.out;

  if (a.dry_run) {
    std::vector<std::string> notes;
    auto status = runner.ReadStatus(&notes);
    if (!status.ok()) return ctx.Fail(status.status());
    Status dirty = migrate::CheckNotDirty(*status, opts->table);
    if (!dirty.ok()) return ctx.Fail(dirty);
    auto steps = planner(*status);
    if (!steps.ok()) return ctx.Fail(steps.status());
    PrintNotes(out, notes);
    nlohmann::json plan = nlohmann::json::array();
    out.Line(out.Bold("plan") + " (dry run: nothing is changed)");
    if (steps->empty()) out.Line("  nothing to do");
    for (const auto& s : *steps) {
      std::string file = std::filesystem::path(s.up ? s.file->up_path : s.file->down_path).filename().string();
      const std::string& sql = s.up ? s.file->up_sql : s.file->down_sql;
      bool no_tx = s.up ? s.file->up_no_transaction : s.file->down_no_transaction;
      plan.push_back({{"version", s.file->version}, {"direction", s.up ? "up" : "down"}, {"file", file},
                      {"no_transaction", no_tx}, {"sql", sql}});
      out.Line();
      out.Line(out.Bold(std::string(s.up ? "up   " : "down ") + file) + (no_tx ? out.Dim("  (no transaction)") : ""));
      std::string indented;
      size_t start = 0;
      while (start < sql.size()) {
        size_t nl = sql.find('\n', start);
        if (nl == std::string::npos) nl = sql.size();
        indented += "    " + sql.substr(start, nl - start) + "\n";
        start = nl + 1;
      }
      out.Print(out.Dim(indented));
    }
    nlohmann::json lint = LintPlan(out, *steps);
    if (out.json()) out.Json({{"dry_run", true}, {"plan", plan}, {"lint", lint}, {"notes", notes}});
    return 0;
  }

  nlohmann::json lint;
  auto lint_then_plan = [&](const migrate::StatusReport& s) -> Result<std::vector<migrate::Step>> {
    auto steps = planner(s);
    if (steps.ok()) lint = LintPlan(out, *steps);
    return steps;
  };
  auto observer = [&](const migrate::Step& step, const migrate::StepResult* r) {
    std::string what = std::string(step.up ? "applying " : "rolling back ") + step.file->DisplayName();
    if (!r) {
      if (!out.json() && out.tty()) out.Print(what + " ...");
      return;
    }
    if (out.tty()) out.Print("\r");
    out.Line(what + " " + out.Green("ok") + out.Dim(" (" + FormatDuration(r->seconds) + ")"));
  };
  auto result = runner.Run(lint_then_plan, observer);
  if (!result.ok()) {
    if (out.tty() && !out.json()) out.Line(" " + out.Red("failed"));
    return ctx.Fail(result.status());
  }
  PrintNotes(out, result->notes);
  std::vector<std::string> notes;
  auto status = runner.ReadStatus(&notes);
  nlohmann::json now = nullptr;
  if (status.ok() && status->current) now = *status->current;
  std::string at = now.is_null() ? "no migration applied" : "now at version " + now.dump();
  if (result->steps.empty()) {
    out.Line("nothing to " + verb + "; " + at);
  } else {
    out.Line(std::string(verb == "roll back" ? "rolled back " : "applied ") + std::to_string(result->steps.size()) +
             (result->steps.size() == 1 ? " migration; " : " migrations; ") + at);
  }
  if (out.json()) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : result->steps)
      steps.push_back({{"version", s.version}, {"name", s.name}, {"direction", s.up ? "up" : "down"}, {"seconds", s.seconds}});
    out.Json({{"steps", steps}, {"current_version", now},
              {"notes", result->notes}, {"lint", lint.is_null() ? nlohmann::json::array() : lint}});
  }
  return 0;
}

int RunStatus(Context& ctx, const MigrateArgs& a, bool validate) {
  auto session = OpenSession(ctx, a);
  if (!session.ok()) return ctx.Fail(session.status());
  migrate::Runner& runner = *(*session)->runner;
  const std::string& dir = (*session)->dir;
  const migrate::RunnerOptions* opts = &(*session)->options;
  std::vector<std::string> notes;
  auto status = runner.ReadStatus(&notes);
  if (!status.ok()) return ctx.Fail(status.status());
  if (!validate) {
    if (ctx.out.json()) {
      ctx.out.Json(StatusJson(*status, notes));
    } else {
      PrintNotes(ctx.out, notes);
      PrintStatus(ctx.out, *status, dir, opts->table.Display());
    }
    return 0;
  }
  nlohmann::json problems = nlohmann::json::array();
  for (const auto& e : status->entries) {
    std::string problem;
    if (e.state == migrate::State::kChanged) problem = "changed on disk since it was applied";
    if (e.state == migrate::State::kMissing) problem = "applied but its file is missing";
    if (e.state == migrate::State::kFailed) problem = "recorded as failed (dirty)";
    if (problem.empty()) continue;
    problems.push_back({{"version", e.version}, {"name", e.name}, {"problem", problem}});
    ctx.out.Line(ctx.out.Red("invalid: ") + e.name + ": " + problem);
  }
  if (ctx.out.json()) {
    ctx.out.Json({{"valid", problems.empty()}, {"problems", problems}, {"notes", notes}});
  } else if (problems.empty()) {
    ctx.out.Line("valid: " + std::to_string(status->Count(migrate::State::kApplied)) +
                 " applied migrations match their files; " + std::to_string(status->Count(migrate::State::kPending)) +
                 " pending");
  }
  return problems.empty() ? 0 : 1;
}

int RunSimple(Context& ctx, const MigrateArgs& a,
              const std::function<Result<migrate::RunResult>(migrate::Runner&)>& action) {
  auto session = OpenSession(ctx, a);
  if (!session.ok()) return ctx.Fail(session.status());
  auto result = action(*(*session)->runner);
  if (!result.ok()) return ctx.Fail(result.status());
  if (ctx.out.json()) {
    ctx.out.Json({{"notes", result->notes}});
  } else {
    for (const auto& n : result->notes) ctx.out.Line(n);
  }
  return 0;
}

int RunLint(Context& ctx, const MigrateArgs& a) {
  std::vector<std::pair<std::string, std::string>> targets;  // name, sql
  std::vector<bool> no_tx;
  if (a.files.empty()) {
    auto files = migrate::LoadMigrations(Dir(ctx, a));
    if (!files.ok()) return ctx.Fail(files.status());
    for (const auto& f : files->files) {
      targets.emplace_back(f.up_path, f.up_sql);
      no_tx.push_back(f.up_no_transaction);
      if (a.include_down && f.has_down() && f.down_path != f.up_path) {
        targets.emplace_back(f.down_path, f.down_sql);
        no_tx.push_back(f.down_no_transaction);
      }
    }
  } else {
    for (const auto& path : a.files) {
      auto text = fs::ReadFile(path);
      if (!text.ok()) return ctx.Fail(text.status());
      targets.emplace_back(path, *text);
      no_tx.push_back(migrate::HasNoTransactionDirective(*text));
    }
  }
  nlohmann::json findings = nlohmann::json::array();
  int errors = 0, warnings = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    for (const auto& f : migrate::LintMigration(targets[i].first, targets[i].second, no_tx[i])) {
      bool error = f.severity == migrate::LintSeverity::kError;
      (error ? errors : warnings)++;
      findings.push_back({{"file", f.file}, {"line", f.line}, {"rule", f.rule},
                          {"severity", migrate::LintSeverityName(f.severity)}, {"message", f.message},
                          {"suggestion", f.suggestion}});
      ctx.out.Line(f.file + ":" + std::to_string(f.line) + ": " + (error ? ctx.out.Red("error") : ctx.out.Yellow("warning")) +
                   ": " + f.message + ctx.out.Dim(" [" + f.rule + "]"));
      ctx.out.Line("    " + ctx.out.Dim("safer: " + f.suggestion));
    }
  }
  ctx.out.Line(std::to_string(targets.size()) + " files, " + std::to_string(errors) + " errors, " +
               std::to_string(warnings) + " warnings");
  if (ctx.out.json()) ctx.out.Json({{"files", targets.size()}, {"errors", errors}, {"warnings", warnings}, {"findings", findings}});
  return errors ? 1 : 0;
}

}  // namespace

void SetupMigrate(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<MigrateArgs>();
  cmd->require_subcommand(1);
  cmd->add_option("--dir", a->dir, "Migrations directory (default: migrations.dir, or ./migrations)");
  cmd->add_option("--table", a->table, "History table (default public.schema_migrations)");
  cmd->add_option("--lock-timeout", a->lock_timeout_s, "Seconds to wait while another migration runs (default 60)");
  cmd->add_option("--ddl-lock-timeout", a->ddl_lock_timeout_ms,
                  "Milliseconds a statement may wait for a table lock before failing (default 5000, 0 = none)");
  cmd->add_option("--statement-timeout", a->statement_timeout_ms, "Milliseconds a statement may run (default 0 = none)");
  cmd->footer("Files: {version}_{title}.up.sql/.down.sql (golang-migrate), {version}_{title}.sql (up-only or dbmate), "
              "V{version}__{title}.sql (Flyway). A first line `-- pgkeeper:no-transaction` runs a file outside a transaction.");

  auto add_plan_flags = [&](CLI::App* sub, bool up) {
    sub->add_flag("--dry-run", a->dry_run, "Print the plan and the SQL; change nothing");
    if (up) {
      sub->add_flag("--allow-changed", a->allow_changed, "Apply even though applied files changed on disk");
      sub->add_flag("--allow-out-of-order", a->allow_out_of_order, "Apply pending versions older than the newest applied");
      sub->add_flag("--backup-first", a->backup_first, "Take a safety backup (tag pre-migration) before applying");
      sub->add_option("--repo", a->repo, "Repository for --backup-first (default repository.url)");
    }
  };
  cmd->add_subcommand("status", "Applied, pending, missing, changed and failed migrations");
  auto* up = cmd->add_subcommand("up", "Apply pending migrations (all, or the next N)");
  up->add_option("N", a->n, "How many to apply")->check(CLI::PositiveNumber);
  add_plan_flags(up, true);
  auto* down = cmd->add_subcommand("down", "Roll back the newest N applied migrations (default 1)");
  down->add_option("N", a->n, "How many to roll back")->check(CLI::PositiveNumber);
  down->add_flag("--all", a->all, "Roll back every applied migration");
  add_plan_flags(down, false);
  auto* go = cmd->add_subcommand("goto", "Migrate up or down to version V");
  go->add_option("V", a->version, "Target version (0: roll back everything)")->required();
  add_plan_flags(go, true);
  auto* force = cmd->add_subcommand("force", "Record version V as the current state after a manual repair");
  force->add_option("V", a->version, "Version")->required();
  auto* create = cmd->add_subcommand("create", "Create the next migration's files");
  create->add_option("TITLE", a->title, "Title, e.g. add_users")->required();
  cmd->add_subcommand("validate", "Exit 1 if an applied file changed or is missing, or a failure is recorded");
  auto* baseline = cmd->add_subcommand("baseline", "Mark every migration up to V as applied without running it");
  baseline->add_option("V", a->version, "Newest version the database already has")->required();
  auto* lint = cmd->add_subcommand("lint", "Flag statements that lock or rewrite busy tables (exit 1 on errors)");
  lint->add_option("FILES", a->files, "Files to lint (default: every up migration in --dir)");
  lint->add_flag("--down", a->include_down, "Also lint down migrations (they drop what up created, so mostly noise)");
  auto* import = cmd->add_subcommand("import", "Import a Flyway or dbmate history");
  import->add_option("--from", a->from, "flyway or dbmate")->required()->check(CLI::IsMember({"flyway", "dbmate"}));
  import->add_option("--from-table", a->from_table,
                     "Their history table (default flyway_schema_history / public.schema_migrations)");

  *handler = [=](Context& ctx) -> int {
    auto* chosen = cmd->get_subcommands().front();
    std::string name = chosen->get_name();
    if (name == "status") return RunStatus(ctx, *a, false);
    if (name == "validate") return RunStatus(ctx, *a, true);
    if (name == "lint") return RunLint(ctx, *a);
    if (name == "up") {
      int n = a->n;
      auto plan_options = migrate::PlanOptions{.allow_changed = a->allow_changed, .allow_out_of_order = a->allow_out_of_order};
      return RunPlan(ctx, *a, "apply", [n, plan_options](const migrate::StatusReport& s) {
        return migrate::PlanUp(s, n, plan_options);
      });
    }
    if (name == "down") {
      int n = a->n > 0 ? a->n : 1;
      bool all = a->all;
      return RunPlan(ctx, *a, "roll back", [n, all](const migrate::StatusReport& s) { return migrate::PlanDown(s, n, all); });
    }
    if (name == "goto") {
      uint64_t v = a->version;
      auto plan_options = migrate::PlanOptions{.allow_changed = a->allow_changed, .allow_out_of_order = a->allow_out_of_order};
      return RunPlan(ctx, *a, "migrate", [v, plan_options](const migrate::StatusReport& s) {
        return migrate::PlanGoto(s, v, plan_options);
      });
    }
    if (name == "force") return RunSimple(ctx, *a, [&](migrate::Runner& r) { return r.Force(a->version); });
    if (name == "baseline") return RunSimple(ctx, *a, [&](migrate::Runner& r) { return r.Baseline(a->version); });
    if (name == "import") return RunSimple(ctx, *a, [&](migrate::Runner& r) { return r.Import(a->from, a->from_table); });
    if (name == "create") {
      auto written = migrate::CreateMigration(Dir(ctx, *a), a->title);
      if (!written.ok()) return ctx.Fail(written.status());
      if (ctx.out.json()) {
        ctx.out.Json({{"files", *written}});
      } else {
        for (const auto& p : *written) ctx.out.Line("created " + p);
      }
      return 0;
    }
    return 2;
  };
}

}  // namespace pgk::cli
