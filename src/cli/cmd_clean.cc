// `pgkeeper clean --all-databases`: empties a rehearsal server (docs/commands/clean.md).
// Lists what it will drop, refuses while those databases have sessions (unless
// --terminate-sessions), asks the user to type the count (or --yes), then drops.
// No safety backup, by design: see the docs page.
#include <memory>

#include "clean/clean.h"
#include "cli/commands.h"
#include "cli/prompt.h"

namespace pgk::cli {

namespace {

struct CleanArgs {
  bool all_databases = false;
  bool dry_run = false;
  bool terminate_sessions = false;
};

nlohmann::json Names(const std::vector<clean::DatabaseInfo>& dbs) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& d : dbs) j.push_back({{"database", d.name}, {"sessions", d.sessions}, {"size_bytes", d.size_bytes}});
  return j;
}

int Run(Context& ctx, const CleanArgs& a) {
  if (!a.all_databases) {
    return ctx.Fail(Status::InvalidArgument("clean needs --all-databases",
                                            "clean drops every user database of the server; to drop one, use DROP "
                                            "DATABASE (or `restore --replace` to put a backup in its place)"));
  }
  auto conn = ctx.Connect("pgkeeper-clean");
  if (!conn.ok()) return ctx.Fail(conn.status());
  auto all = clean::ListDatabases(*conn);
  if (!all.ok()) return ctx.Fail(all.status());
  clean::Choice choice = clean::ChooseDatabases(*all, conn->database());
  const Output& out = ctx.out;

  int64_t total = 0;
  std::vector<std::string> busy;
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : choice.drop) {
    total += d.size_bytes;
    if (d.sessions > 0) busy.push_back(d.name + " (" + std::to_string(d.sessions) + ")");
    rows.push_back({d.name, FormatBytes(d.size_bytes), std::to_string(d.sessions)});
  }
  std::string server = conn->display();
  if (!out.json()) {
    if (choice.drop.empty()) {
      out.Line("nothing to drop on " + server + ": no user databases besides " + conn->database());
    } else {
      out.Line(std::string(a.dry_run ? "would drop " : "will drop ") + std::to_string(choice.drop.size()) +
               " database(s) on " + server + " (" + FormatBytes(total) + "):");
      out.Print(RenderTable({{"database"}, {"size", true}, {"sessions", true}}, rows));
    }
    std::string kept;
    for (const auto& k : choice.kept) kept += (kept.empty() ? "" : ", ") + k.name;
    if (!kept.empty()) out.Line(out.Dim("kept: " + kept));
  }
  auto json_report = [&](const std::vector<std::string>& dropped) {
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& k : choice.kept) kept.push_back({{"database", k.name}, {"reason", k.reason}});
    return nlohmann::json{{"server", server},   {"dry_run", a.dry_run}, {"databases", Names(choice.drop)},
                          {"dropped", dropped}, {"kept", kept},         {"bytes", total}};
  };

  // Sessions are checked before asking, so a refusal never follows a confirmation.
  if (!busy.empty() && !a.terminate_sessions && !a.dry_run) {
    std::string list;
    for (const auto& b : busy) list += (list.empty() ? "" : ", ") + b;
    return ctx.Fail(Status::Refused("databases have other sessions connected: " + list,
                                    "stop the applications, or rerun with --terminate-sessions to disconnect them"));
  }
  if (a.dry_run || choice.drop.empty()) {
    if (out.json()) out.Json(json_report({}));
    if (a.dry_run && !out.json()) out.Line("dry run: nothing was dropped");
    return 0;
  }
  std::string count = std::to_string(choice.drop.size());
  Status confirmed = ConfirmByTyping(
      ctx, "clean drops " + count + " database(s) on " + server + " for good (no safety backup is taken)",
      "drop " + count);
  if (!confirmed.ok()) return ctx.Fail(confirmed);

  std::vector<std::string> dropped;
  Status s = clean::DropDatabases(*conn, choice.drop, {.terminate_sessions = a.terminate_sessions}, &dropped);
  if (!s.ok()) {
    std::string done = dropped.empty() ? "nothing was dropped" : std::to_string(dropped.size()) + " dropped before it";
    return ctx.Fail(s.WithContext(done));
  }
  if (out.json()) {
    out.Json(json_report(dropped));
  } else {
    out.Line("dropped " + count + " database(s) on " + server + " (" + FormatBytes(total) + ")");
  }
  return 0;
}

}  // namespace

void SetupClean(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<CleanArgs>();
  cmd->add_flag("--all-databases", a->all_databases,
                "Drop every user database of the --db server (not postgres, template0/1 or the one connected to)");
  cmd->add_flag("--dry-run", a->dry_run, "List what would be dropped; drop nothing");
  cmd->add_flag("--terminate-sessions", a->terminate_sessions,
                "Disconnect the databases' sessions (otherwise refuse while there are any)");
  cmd->footer(
      "For rehearsal servers: no safety backup is taken (pgkeeper backup --type cluster first if in doubt). "
      "Confirm by typing 'drop N', or --yes.");
  *handler = [a](Context& ctx) { return Run(ctx, *a); };
}

}  // namespace pgk::cli
