// `pgkeeper dr`: the guided disaster-recovery runbook (docs/commands/dr.md). Asks what
// happened (or takes --scenario and its flags), builds the plan (src/dr/plan.h), shows it
// with the exact commands, runs it after one confirmation, verifies the result for real
// and reports the RPO and RTO achieved.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/dr_steps.h"
#include "cli/prompt.h"
#include "common/utc_time.h"
#include "dr/plan.h"
#include "pg/conninfo.h"
#include "physical/recovery.h"
#include "restore/open.h"

namespace pgk::cli {

namespace {

struct DrArgs {
  std::string scenario;
  std::string method;
  std::string backup;
  std::string repo;
  std::string key_file;
  std::string before;
  std::vector<std::string> tables;
  std::string side_db;
  std::string pgdata;
  int port = 0;
  std::string export_dir;
  std::string to;
  std::string into;
  bool terminate_sessions = false;
  bool no_safety_backup = false;
  std::string passwords_file;
  std::string passwords_env;
  bool plan_only = false;
};

bool Interactive(const Context& ctx) {
  return !ctx.options.yes && !ctx.out.json() && isatty(STDIN_FILENO) != 0 && isatty(STDERR_FILENO) != 0;
}

Status NotEmpty(const std::string& answer) {
  return answer.empty() ? Status::InvalidArgument("an answer is needed") : Status::Ok();
}

Status ValidTime(const std::string& answer) {
  auto us = physical::ParseTimestamp(answer);
  return us.ok() ? Status::Ok() : us.status();
}

// Fills what the flags left out by asking, on a terminal only; without one every missing
// answer is an error naming its flag (BuildPlan's refusals). A wrong answer is explained
// and asked again.
Status AskMissing(const Context& ctx, DrArgs* a) {
  if (!Interactive(ctx)) {
    if (a->scenario.empty()) {
      return Status::InvalidArgument("dr needs --scenario when it cannot ask (no terminal, --json or --yes)",
                                     "--scenario corruption | deletion | server-lost | security");
    }
    return Status::Ok();
  }
  auto ask = [](std::string* field, const std::string& question, const std::function<Status(const std::string&)>& check,
                const std::string& default_answer = "") -> Status {
    auto answer = AskValid(question, check, default_answer);
    if (!answer.ok()) return answer.status();
    *field = *answer;
    return Status::Ok();
  };
  if (a->scenario.empty()) {
    std::cerr << "What happened?\n";
    const dr::Scenario all[] = {dr::Scenario::kCorruption, dr::Scenario::kDeletion, dr::Scenario::kServerLost,
                                dr::Scenario::kSecurityIncident};
    for (int i = 0; i < 4; ++i) {
      std::cerr << "  " << i + 1 << ". " << dr::ScenarioName(all[i]) << ": " << dr::ScenarioSummary(all[i]) << "\n";
    }
    std::string answer;
    Status s = ask(&answer, "Choose 1-4:", [](const std::string& x) {
      if (x.size() == 1 && x[0] >= '1' && x[0] <= '4') return Status::Ok();
      auto parsed = dr::ParseScenario(x);
      return parsed.ok() ? Status::Ok() : parsed.status();
    });
    if (!s.ok()) return s;
    a->scenario = answer.size() == 1 ? dr::ScenarioName(all[answer[0] - '1']) : answer;
  }
  auto scenario = dr::ParseScenario(a->scenario);
  if (!scenario.ok()) return scenario.status();
  Status s;
  if (*scenario == dr::Scenario::kDeletion) {
    if (a->before.empty()) {
      s = ask(&a->before, "When did the deletion happen (YYYY-MM-DD HH:MM:SS, UTC without offset)?", ValidTime);
      if (!s.ok()) return s;
    }
    if (a->tables.empty()) {
      std::string t;
      s = ask(&t, "Which table lost rows (schema.table)?", [](const std::string& x) {
        return x.find('.') == std::string::npos ? Status::InvalidArgument("give it as schema.table, e.g. public.orders")
                                                : Status::Ok();
      });
      if (!s.ok()) return s;
      a->tables.push_back(t);
    }
    if (a->side_db.empty() && a->method != "physical") {
      s = ask(&a->side_db, "Name of the new side database for the earlier state?", NotEmpty, "recovered");
      if (!s.ok()) return s;
    }
    if (a->export_dir.empty()) {
      s = ask(&a->export_dir, "Directory for the CSV files of the lost rows?", NotEmpty, "dr-export");
      if (!s.ok()) return s;
    }
  }
  if (*scenario == dr::Scenario::kServerLost && a->to.empty() && a->method != "physical") {
    s = ask(&a->to, "URL of the new server to restore onto (any database on it)?",
            [](const std::string& x) { return x.empty() ? NotEmpty(x) : pg::ValidateConninfo(x); });
    if (!s.ok()) return s;
  }
  if (*scenario == dr::Scenario::kSecurityIncident && a->before.empty()) {
    s = ask(&a->before, "When did the incident start (restore a backup from before it; empty: the latest backup)?",
            [](const std::string& x) { return x.empty() ? Status::Ok() : ValidTime(x); });
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// A plan that turned out physical (no logical backup fits) needs a data directory and a
// port for the restored server: asked on a terminal, then the plan is built again.
Status AskPhysicalFlags(DrArgs* a) {
  auto dir = AskValid("A physical recovery starts a restored server. New or empty data directory for it?", NotEmpty);
  if (!dir.ok()) return dir.status();
  auto port = AskValid("Free port for it to listen on?", [](const std::string& x) {
    char* end = nullptr;
    long p = std::strtol(x.c_str(), &end, 10);
    bool valid = !x.empty() && *end == '\0' && p >= 1 && p <= 65535;
    return valid ? Status::Ok() : Status::InvalidArgument("a port is a number from 1 to 65535");
  });
  if (!port.ok()) return port.status();
  a->pgdata = *dir;
  a->port = std::stoi(*port);
  return Status::Ok();
}

std::vector<std::string> LoginRoles(const std::string& conninfo) {
  std::vector<std::string> roles;
  auto conn = pg::Connection::Connect(conninfo, {.application_name = "pgkeeper-dr"});
  if (!conn.ok()) return roles;
  auto r = conn->Query("SELECT rolname FROM pg_catalog.pg_roles WHERE rolcanlogin AND rolname !~ '^pg_' ORDER BY 1");
  if (!r.ok()) return roles;
  for (int i = 0; i < r->rows(); ++i) roles.push_back(r->GetString(i, 0));
  return roles;
}

std::string StepKind(dr::Step::Kind k) {
  switch (k) {
    case dr::Step::Kind::kCommand:
      return "command";
    case dr::Step::Kind::kExport:
      return "export";
    case dr::Step::Kind::kManual:
      return "manual";
    case dr::Step::Kind::kVerify:
      return "verify";
  }
  return "?";
}

std::string IsoUs(int64_t us) { return FormatUtc(us / 1000000, kIsoUtc); }

nlohmann::json PlanJson(const dr::Plan& p, const DrRunContext& rc) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : p.steps) {
    nlohmann::json j = {{"kind", StepKind(s.kind)}, {"title", s.title}};
    if (s.kind == dr::Step::Kind::kCommand) {
      j["command"] = DisplayCommand(s, rc);
    }
    if (!s.detail.empty()) j["detail"] = s.detail;
    if (!s.table.empty()) j["table"] = s.table;
    steps.push_back(j);
  }
  return {{"scenario", dr::ScenarioName(p.scenario)},
          {"method", p.method},
          {"database", p.database},
          {"backup", p.backup_id},
          {"backup_time", p.backup_time},
          {"restored_point", IsoUs(p.restored_point_us)},
          {"replaces_live_database", p.replaces_live},
          {"steps", steps},
          {"notes", p.notes}};
}

void PrintPlan(const Output& out, const dr::Plan& p, const DrRunContext& rc) {
  out.Line(out.Bold("Recovery plan") + ": " + dr::ScenarioName(p.scenario) + " of database " + p.database + " (" +
           p.method + ")");
  out.Line("  " + std::string(dr::ScenarioSummary(p.scenario)));
  out.Line("  backup " + p.backup_id + ", data as of " + IsoUs(p.restored_point_us));
  for (const auto& n : p.notes) out.Line("  " + n);
  out.Line("");
  int i = 0;
  for (const auto& s : p.steps) {
    ++i;
    std::string prefix = std::to_string(i) + ". ";
    out.Line(prefix + (s.kind == dr::Step::Kind::kManual ? out.Yellow("(you) ") : "") + s.title);
    if (s.kind == dr::Step::Kind::kCommand) {
      out.Line(std::string(prefix.size(), ' ') + out.Dim("$ " + DisplayCommand(s, rc)));
    } else if (!s.detail.empty()) {
      out.Line(std::string(prefix.size(), ' ') + out.Dim(s.detail));
    }
  }
  out.Line("");
}

int Run(Context& ctx, DrArgs a) {
  auto wall0 = std::chrono::steady_clock::now();
  Status asked = AskMissing(ctx, &a);
  if (!asked.ok()) return ctx.Fail(asked);
  auto scenario = dr::ParseScenario(a.scenario);
  if (!scenario.ok()) return ctx.Fail(scenario.status());

  auto target = ctx.Target();
  if (!target.ok()) return ctx.Fail(target.status());
  DrRunContext rc;
  rc.source_conninfo = target->conninfo;
  rc.target_conninfo = a.to;
  rc.export_dir = a.export_dir.empty() ? "dr-export" : a.export_dir;
  if (!a.to.empty()) {
    Status valid = pg::ValidateConninfo(a.to);
    if (!valid.ok()) return ctx.Fail(valid);
  }

  dr::PlanInput in;
  in.scenario = *scenario;
  in.method = a.method;
  auto settings = pg::ParseConninfo(rc.source_conninfo);
  if (!settings.ok()) return ctx.Fail(settings.status());
  if (settings->count("dbname") > 0) in.database = settings->at("dbname");
  in.repo = a.repo;
  in.key_file = a.key_file;
  in.backup_id = a.backup;
  if (!a.before.empty()) {
    auto us = physical::ParseTimestamp(a.before);
    if (!us.ok()) return ctx.Fail(us.status().WithContext("--before"));
    in.before_us = *us;
    in.before_text = a.before;
  }
  in.tables = a.tables;
  in.side_db = a.side_db;
  in.side_pgdata = a.pgdata;
  in.port = a.port;
  in.export_dir = rc.export_dir;
  in.has_target_server = !a.to.empty();
  in.target_into = a.into;
  in.terminate_sessions = a.terminate_sessions;
  in.no_safety_backup = a.no_safety_backup;
  in.passwords_file = a.passwords_file;
  in.passwords_env = a.passwords_env;
  // Listing backups needs no key: an encrypted repository's key is only needed by the
  // restore steps, which get it the usual way.
  auto repo = restore::OpenRepositoryForReading(a.repo, a.key_file, ctx.config, /*metadata_only=*/true);
  if (!repo.ok()) return ctx.Fail(repo.status());
  auto backups = (*repo)->ListBackups();
  if (!backups.ok()) return ctx.Fail(backups.status());
  in.backups = std::move(*backups);
  if (*scenario == dr::Scenario::kSecurityIncident) in.login_roles = LoginRoles(rc.source_conninfo);

  auto plan = dr::BuildPlan(in);
  if (!plan.ok() && Interactive(ctx) && (a.pgdata.empty() || a.port <= 0)) {
    dr::PlanInput placeholder = in;
    placeholder.side_pgdata = "/";
    placeholder.port = 1;
    auto physical = dr::BuildPlan(placeholder);
    if (physical.ok() && physical->method == "physical") {
      Status answered = AskPhysicalFlags(&a);
      if (!answered.ok()) return ctx.Fail(answered);
      in.side_pgdata = a.pgdata;
      in.port = a.port;
      plan = dr::BuildPlan(in);
    }
  }
  if (!plan.ok()) return ctx.Fail(plan.status());
  const repo::Manifest* manifest = nullptr;
  for (const auto& m : in.backups) {
    if (m.id == plan->backup_id) manifest = &m;
  }
  rc.manifest = manifest;
  if (plan->side_port > 0) {
    auto restored = RestoredConninfo(*plan, rc);
    if (!restored.ok()) return ctx.Fail(restored.status());
    rc.restored_conninfo = *restored;
  }
  const Output& out = ctx.out;
  if (a.plan_only) {
    if (out.json()) {
      out.Json({{"plan", PlanJson(*plan, rc)}, {"executed", false}});
    } else {
      PrintPlan(out, *plan, rc);
      out.Line("plan only: nothing was run (run it without --plan-only)");
    }
    return 0;
  }
  PrintPlan(out, *plan, rc);

  // One confirmation for the whole plan; the steps run with --yes. Overwriting the live
  // database takes its name typed, as restore --replace does.
  std::string action = "dr runs this " + std::to_string(plan->steps.size()) + "-step " +
                       dr::ScenarioName(plan->scenario) + " recovery of " + plan->database;
  Status confirmed =
      plan->replaces_live ? ConfirmByTyping(ctx, action + ", replacing it", plan->database) : Confirm(ctx, action);
  if (!confirmed.ok()) return ctx.Fail(confirmed);

  auto run0 = std::chrono::steady_clock::now();
  DrRun run = RunPlan(ctx, *plan, rc);
  auto now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  int64_t restored_us = plan->restored_point_us;
  if (!run.reached_time.empty()) {
    auto reached = physical::ParseTimestamp(run.reached_time);
    if (reached.ok()) restored_us = *reached;
  }
  // RPO: what the restored data misses — from the restored point to the incident (or to
  // now when no incident time was given). RTO: from confirmation to verified.
  int64_t incident_us = in.before_us.value_or(now_us);
  double rpo = std::max<double>(0, static_cast<double>(incident_us - restored_us) / 1e6);
  double rto = std::chrono::duration<double>(std::chrono::steady_clock::now() - run0).count();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();

  // "The latest verified backup": when the chosen backup fails its verification, the
  // next one to try is the plan without it.
  std::string next_backup;
  if (run.failed && !run.steps.empty() && run.steps.size() <= plan->steps.size()) {
    const dr::Step& failed = plan->steps[run.steps.size() - 1];
    if (failed.kind == dr::Step::Kind::kCommand && !failed.args.empty() && failed.args[0] == "verify") {
      dr::PlanInput older = in;
      older.backup_id.clear();
      std::erase_if(older.backups, [&](const repo::Manifest& m) { return m.id == plan->backup_id; });
      auto alt = dr::BuildPlan(older);
      if (alt.ok()) next_backup = alt->backup_id;
    }
  }
  if (out.json()) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : run.steps) {
      nlohmann::json j = {{"title", s.title},
                          {"kind", s.kind},
                          {"exit_code", s.exit_code},
                          {"seconds", s.seconds},
                          {"result", s.result}};
      if (!s.command.empty()) j["command"] = s.command;
      if (!s.error.empty()) j["error"] = s.error;
      steps.push_back(j);
    }
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : run.checks) {
      checks.push_back({{"check", c.name}, {"ok", c.ok}, {"skipped", c.skipped}, {"detail", c.detail}});
    }
    out.Json({{"plan", PlanJson(*plan, rc)},
              {"executed", true},
              {"ok", !run.failed},
              {"steps", steps},
              {"verification", checks},
              {"restored_point", IsoUs(restored_us)},
              {"incident_time", in.before_us ? nlohmann::json(IsoUs(*in.before_us)) : nlohmann::json(nullptr)},
              {"rpo_seconds", rpo},
              {"rto_seconds", rto},
              {"wall_seconds", wall},
              {"next_backup", next_backup.empty() ? nlohmann::json(nullptr) : nlohmann::json(next_backup)}});
    return run.exit_code;
  }
  out.Line("");
  if (run.failed) {
    std::string which = run.steps.empty() ? "" : run.steps.back().title;
    out.Line(out.Red("recovery did not complete") + ": step " + std::to_string(run.steps.size()) + " failed (" + which +
             ")");
    if (!next_backup.empty()) {
      out.Line("backup " + plan->backup_id + " did not verify: rerun dr with --backup " + next_backup +
               " (the next newest that fits)");
    } else {
      out.Line("fix the cause and rerun dr (the plan is the same), or continue by hand from that step");
    }
    return run.exit_code;
  }
  out.Line(out.Green("recovered") + ": " + dr::ScenarioName(plan->scenario) + " of " + plan->database + " from " +
           plan->backup_id);
  out.Line("  RPO achieved  " + FormatDuration(rpo) + " (data as of " + IsoUs(restored_us) + ", " +
           (in.before_us ? "incident at " + IsoUs(*in.before_us) : std::string("until now")) + ")");
  out.Line("  RTO achieved  " + FormatDuration(rto) + " (from confirmation to verified; " + FormatDuration(wall) +
           " in all)");
  return 0;
}

}  // namespace

void SetupDr(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<DrArgs>();
  cmd->add_option("--scenario", a->scenario, "What happened: corruption, deletion, server-lost or security");
  cmd->add_option("--method", a->method, "logical or physical (default: logical when a logical backup fits)");
  cmd->add_option("--backup", a->backup, "Restore this backup id (default: the newest that fits)");
  cmd->add_option("--repo", a->repo, "Repository URL (default: repository.url)");
  cmd->add_option("--key-file", a->key_file, "Encryption key file (default: repository.key_file)");
  cmd->add_option("--before", a->before,
                  "When it happened (deletion, security): restore a point before it (UTC without an offset)");
  cmd->add_option("--table,-t", a->tables, "deletion: a table whose lost rows are exported (repeatable)");
  cmd->add_option("--side-db", a->side_db, "deletion (logical): new database the earlier state is restored into");
  cmd->add_option("--export-dir", a->export_dir, "deletion: where the CSV files of lost rows go (default ./dr-export)");
  cmd->add_option("--pgdata", a->pgdata, "physical: new or empty data directory for the restored cluster");
  cmd->add_option("--port", a->port, "physical: port the restored server listens on")->check(CLI::Range(1, 65535));
  cmd->add_option("--to", a->to, "server-lost: the new server (URL of any database on it)");
  cmd->add_option("--into", a->into, "server-lost: the database's name on the new server (default: the same)");
  cmd->add_flag("--terminate-sessions", a->terminate_sessions,
                "corruption, security: disconnect the database's sessions before replacing it");
  cmd->add_flag("--no-safety-backup", a->no_safety_backup,
                "corruption, security: no safety backup of the database before it is replaced");
  cmd->add_option("--passwords-file", a->passwords_file, "security: new role passwords (roles reset-passwords --file)");
  cmd->add_option("--passwords-env", a->passwords_env,
                  "security: new role passwords from variables PREFIX<ROLE> (roles reset-passwords --from-env)");
  cmd->add_flag("--plan-only", a->plan_only, "Print the plan and its commands; run nothing");
  cmd->footer(
      "--db names the affected database (its server and name). Asks on a terminal; otherwise every answer comes "
      "from flags and --yes confirms.");
  *handler = [a](Context& ctx) { return Run(ctx, *a); };
}

}  // namespace pgk::cli
