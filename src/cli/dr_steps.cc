#include "cli/dr_steps.h"

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>

#include "common/fs.h"
#include "common/process.h"
#include "dr/export.h"
#include "pg/conninfo.h"

namespace pgk::cli {

namespace {

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The last `n` lines of `text`, without trailing newlines.
std::string LastLines(const std::string& text, int n) {
  size_t end = text.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  size_t start = end + 1;
  for (int i = 0; i < n && start > 0; ++i) {
    size_t nl = text.rfind('\n', start - 1 > 0 ? start - 2 : 0);
    start = (nl == std::string::npos || start < 2) ? 0 : nl + 1;
  }
  return text.substr(start, end + 1 - start);
}

// The "error" strings of a command's --json report (verify lists one per bad file), for
// commands that report a problem on stdout only.
void CollectErrors(const nlohmann::json& j, std::vector<std::string>* out) {
  if (out->size() >= 3) return;
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (key == "error" && value.is_string()) {
        out->push_back(value.get<std::string>());
      } else if (key == "error" && value.is_object() && value.contains("message")) {
        out->push_back(value["message"].dump());
      } else {
        CollectErrors(value, out);
      }
    }
  } else if (j.is_array()) {
    for (const auto& v : j) CollectErrors(v, out);
  }
}

StepOutcome RunCommand(const Context& ctx, const dr::Step& step, const DrRunContext& rc) {
  StepOutcome o{.title = step.title, .kind = "command"};
  o.command = DisplayCommand(step, rc);
  auto t0 = std::chrono::steady_clock::now();
  ProcessOptions p;
  p.argv = {SelfExecutable(), "--json"};
  if (!ctx.options.config_path.empty()) p.argv.insert(p.argv.end(), {"--config", ctx.options.config_path});
  p.argv.insert(p.argv.end(), step.args.begin(), step.args.end());
  if (step.server == dr::Server::kSource) p.env["DATABASE_URL"] = rc.source_conninfo;
  if (step.server == dr::Server::kTarget) p.env["DATABASE_URL"] = rc.target_conninfo;
  if (step.server == dr::Server::kRestored) p.env["DATABASE_URL"] = rc.restored_conninfo;
  p.capture = true;
  // If dr dies, the step stops too (restore cleans up on SIGTERM) rather than running on
  // unattended.
  p.parent_death_signal = SIGTERM;
  auto tmp = fs::TempDir::Create("pgkeeper-dr");
  if (!tmp.ok()) {
    o.exit_code = tmp.status().exit_code();
    o.error = tmp.status().message();
    return o;
  }
  p.stderr_file = (tmp->path() / "stderr").string();
  auto result = RunProcess(p);
  o.seconds = Since(t0);
  if (!result.ok()) {
    o.exit_code = result.status().exit_code();
    o.error = result.status().message();
    return o;
  }
  o.exit_code = result->exit_code;
  try {
    o.result = nlohmann::json::parse(result->output);
  } catch (const nlohmann::json::exception&) {
    o.result = nullptr;
  }
  if (o.exit_code != 0) {
    auto err = fs::ReadFile(p.stderr_file);
    o.error = LastLines(err.ok() ? *err : "", 6);
    if (o.error.empty()) {
      std::vector<std::string> errors;
      CollectErrors(o.result, &errors);
      for (const auto& e : errors) o.error += (o.error.empty() ? "" : "\n") + e;
    }
  }
  return o;
}

StepOutcome RunExport(const dr::Step& step, const std::string& restored, const DrRunContext& rc) {
  StepOutcome o{.title = step.title, .kind = "export"};
  auto t0 = std::chrono::steady_clock::now();
  auto r = dr::ExportLostRows(
      {.live_conninfo = rc.source_conninfo, .side_conninfo = restored, .table = step.table, .dir = rc.export_dir});
  o.seconds = Since(t0);
  if (!r.ok()) {
    o.exit_code = r.status().exit_code();
    o.error = r.status().ToString();
    return o;
  }
  o.result = {{"table", r->table},
              {"file", r->file},
              {"rows", r->rows},
              {"missing", r->missing},
              {"changed", r->changed},
              {"key", r->key},
              {"live_table_missing", r->live_table_missing}};
  return o;
}

}  // namespace

std::string DisplayCommand(const dr::Step& step, const DrRunContext& rc) {
  auto display = [](const std::string& c) { return c.empty() ? std::string() : pg::DisplayConninfo(c); };
  return dr::CommandLine(step, display(rc.source_conninfo), display(rc.target_conninfo),
                         display(rc.restored_conninfo));
}

Result<std::string> RestoredConninfo(const dr::Plan& plan, const DrRunContext& rc) {
  if (plan.side_port > 0) {
    // A physically restored server is a copy of the source cluster: same roles and
    // passwords, so the source's credentials, on this host and the restored port.
    PGK_ASSIGN_OR_RETURN(auto settings, pg::ParseConninfo(rc.source_conninfo));
    settings["host"] = "127.0.0.1";
    settings.erase("hostaddr");
    settings["port"] = std::to_string(plan.side_port);
    settings["dbname"] = plan.side_conn_db;
    return pg::BuildConninfo(settings);
  }
  return pg::WithDatabase(plan.side_on_target ? rc.target_conninfo : rc.source_conninfo, plan.side_conn_db);
}

DrRun RunPlan(const Context& ctx, const dr::Plan& plan, const DrRunContext& rc) {
  DrRun run;
  const Output& out = ctx.out;
  int n = 0;
  for (const auto& step : plan.steps) {
    ++n;
    StepOutcome o;
    if (step.kind == dr::Step::Kind::kCommand) {
      out.Line(std::to_string(n) + ". " + step.title + " ...");
      o = RunCommand(ctx, step, rc);
      if (o.exit_code == 0 && o.result.is_object() && o.result.contains("started") && o.result["started"].is_object() &&
          o.result["started"]["reached_time"].is_string()) {
        run.reached_time = o.result["started"]["reached_time"].get<std::string>();
      }
    } else if (step.kind == dr::Step::Kind::kExport) {
      out.Line(std::to_string(n) + ". " + step.title + " ...");
      auto restored = RestoredConninfo(plan, rc);
      if (!restored.ok()) {
        o = {.title = step.title,
             .kind = "export",
             .exit_code = restored.status().exit_code(),
             .error = restored.status().ToString()};
      } else {
        o = RunExport(step, *restored, rc);
      }
    } else if (step.kind == dr::Step::Kind::kManual) {
      o = {.title = step.title, .kind = "manual"};
      o.result = {{"detail", step.detail}};
      out.Line(std::to_string(n) + ". " + out.Yellow("to do: ") + step.title +
               (step.detail.empty() ? "" : ": " + step.detail));
    } else {
      out.Line(std::to_string(n) + ". " + step.title + " ...");
      o = {.title = step.title, .kind = "verify"};
      auto t0 = std::chrono::steady_clock::now();
      auto restored = RestoredConninfo(plan, rc);
      dr::VerifyInput vi;
      vi.conninfo = restored.ok() ? *restored : "";
      if (rc.manifest) {
        vi.row_counts = rc.manifest->row_counts;
        vi.migration_version = rc.manifest->migration_version;
      }
      vi.migrations_table = ctx.config.GetString("migrations.table").value_or("public.schema_migrations");
      run.checks = dr::VerifyRestored(vi);
      // schema check only when the user told pgkeeper what the schema should be.
      if (ctx.config.GetString("schema.expect") && restored.ok() && run.checks.front().ok) {
        // The restored database goes to the child like every other step's --db.
        dr::Step schema{.kind = dr::Step::Kind::kCommand, .args = {"schema", "check"}, .server = dr::Server::kSource};
        DrRunContext schema_rc = rc;
        schema_rc.source_conninfo = *restored;
        StepOutcome so = RunCommand(ctx, schema, schema_rc);
        run.checks.push_back({.name = "schema",
                              .ok = so.exit_code == 0,
                              .detail = so.exit_code == 0 ? "matches schema.expect"
                                                          : "differs from schema.expect (`pgkeeper schema check` "
                                                            "shows how)"});
      } else {
        run.checks.push_back({.name = "schema", .ok = true, .skipped = true, .detail = "no schema.expect configured"});
      }
      o.seconds = Since(t0);
      nlohmann::json checks = nlohmann::json::array();
      for (const auto& c : run.checks) {
        checks.push_back({{"check", c.name}, {"ok", c.ok}, {"skipped", c.skipped}, {"detail", c.detail}});
        out.Line("   " +
                 (c.skipped ? out.Dim("skip")
                  : c.ok    ? out.Green("ok  ")
                            : out.Red("FAIL")) +
                 " " + c.name + ": " + c.detail);
      }
      o.result = checks;
      if (!dr::AllPassed(run.checks)) o.exit_code = 1;
    }
    if (o.exit_code != 0) {
      std::string indented;
      for (size_t start = 0; start < o.error.size();) {
        size_t nl = o.error.find('\n', start);
        if (nl == std::string::npos) nl = o.error.size();
        indented += "\n   " + o.error.substr(start, nl - start);
        start = nl + 1;
      }
      out.Line("   " + out.Red("failed") + " (exit " + std::to_string(o.exit_code) + ")" +
               (indented.empty() ? "" : ":" + indented));
    } else if (o.kind == "command") {
      out.Line("   " + out.Green("done") + " in " + FormatDuration(o.seconds));
    } else if (o.kind == "export") {
      out.Line("   " + out.Green("exported") + " " + FormatCount(o.result["rows"].get<int64_t>()) + " rows (" +
               FormatCount(o.result["missing"].get<int64_t>()) + " missing, " +
               FormatCount(o.result["changed"].get<int64_t>()) + " changed) to " + o.result["file"].get<std::string>());
    }
    run.steps.push_back(o);
    if (o.exit_code != 0) {
      run.failed = true;
      run.exit_code = o.exit_code;
      // A failed verification still shows the manual steps that follow; anything else
      // stops the run (each step needs the previous one's result).
      if (o.kind != "verify") break;
    }
  }
  return run;
}

}  // namespace pgk::cli
