// `restore ID` of a globals or cluster backup: roles and tablespaces onto the --db server,
// then (cluster) each database into a new one, with the mapping options below.
#include "cli/backup_globals.h"
#include "pg/conninfo.h"
#include "restore/cluster.h"
#include "restore/globals.h"

namespace pgk::cli {

namespace {

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

nlohmann::json GlobalsJson(const restore::GlobalsReport& g) {
  return {{"roles_created", g.roles_created},
          {"roles_existing", g.roles_existing},
          {"tablespaces_created", g.tablespaces_created},
          {"tablespaces_existing", g.tablespaces_existing},
          {"statements", g.statements}};
}

void PrintGlobals(const Output& out, const restore::GlobalsReport& g, const std::string& server) {
  out.Line("applied roles and tablespaces to " + server + ":");
  auto line = [&](const std::string& label, const std::vector<std::string>& names) {
    if (!names.empty()) out.Line("  " + label + " (" + std::to_string(names.size()) + "): " + Join(names));
  };
  line("roles created", g.roles_created);
  line("roles that existed (attributes and memberships applied, passwords untouched)", g.roles_existing);
  line("tablespaces created", g.tablespaces_created);
  line("tablespaces that existed (kept)", g.tablespaces_existing);
  if (!g.roles_created.empty()) {
    out.Line(out.Dim("new roles have no password: set them with `pgkeeper roles reset-passwords`"));
  }
}

Status RefuseOptions(const repo::Manifest& m, const ClusterRestoreArgs& a, const RestoreCommon& c) {
  if (m.type == "logical") {
    return Status::InvalidArgument(
        "--only, --exclude, --prefix, --no-globals and --no-tablespaces apply to cluster "
        "and globals backups; " +
            m.id + " is a logical backup",
        "restore a logical backup with --into NEWDB");
  }
  if (m.type == "physical") {
    return Status::InvalidArgument("backup " + m.id + " is a physical backup",
                                   "restore it with `pgkeeper restore " + m.id + " --type physical`");
  }
  if (m.type != "globals" && m.type != "cluster") {
    return Status::Refused("backup " + m.id + " is of type " + m.type + ", which this pgkeeper cannot restore",
                           "use a newer pgkeeper");
  }
  if (!c.table.empty() || !c.replace.empty()) {
    return Status::InvalidArgument(std::string(c.table.empty() ? "--replace" : "--table") +
                                   " applies to logical backups; " + m.id + " is a " + m.type + " backup");
  }
  if (m.type == "globals") {
    if (!c.into.empty() || !a.only.empty() || !a.exclude.empty() || !a.prefix.empty() || a.no_globals) {
      return Status::InvalidArgument("backup " + m.id +
                                     " holds roles and tablespaces only: --into, --only, "
                                     "--exclude, --prefix and --no-globals do not apply");
    }
  }
  return Status::Ok();
}

int Mismatches(const Context& ctx, const restore::ClusterRestoreReport& r) {
  size_t bad = 0;
  const Output& out = ctx.out;
  for (size_t i = 0; i < r.databases.size(); ++i) {
    const auto& d = r.databases[i];
    if (d.mismatches.empty()) continue;
    bad += d.mismatches.size();
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : d.mismatches) {
      rows.push_back(
          {c.table, FormatCount(c.expected), c.actual < 0 ? out.Red("missing") : out.Red(FormatCount(c.actual))});
    }
    if (!out.json()) {
      out.Line(out.Red("row counts in " + d.database + " differ from the backup's manifest:"));
      out.Print(RenderTable({{"table"}, {"expected", true}, {"restored", true}}, rows));
    }
  }
  if (bad == 0) return 0;
  Status problem = Status::Problem(
      std::to_string(bad) + " tables do not have the row count recorded in backup " + r.backup_id,
      "the restored databases are kept for inspection; `pgkeeper verify " + r.backup_id + "` checks the stored files");
  if (out.json()) return problem.exit_code();
  return ctx.Fail(problem);
}

}  // namespace

void AddClusterRestoreOptions(CLI::App* cmd, ClusterRestoreArgs* a) {
  cmd->add_option("--type", a->type, "Which backups `latest` means: logical (default), globals, cluster or physical")
      ->check(CLI::IsMember({"logical", "globals", "cluster", "physical"}));
  cmd->add_option("--only", a->only, "Cluster backups: restore only this database (repeatable)");
  cmd->add_option("--exclude", a->exclude, "Cluster backups: leave this database out (repeatable)");
  cmd->add_option("--prefix", a->prefix, "Cluster backups: restore each database DB as <prefix>DB");
  cmd->add_flag("--no-globals", a->no_globals, "Cluster backups: databases only, no roles or tablespaces");
  cmd->add_flag("--no-tablespaces", a->no_tablespaces, "Globals and cluster backups: roles only, no tablespaces");
}

int RunGlobalsOrClusterRestore(const Context& ctx, repo::Repository& repo, const repo::Manifest& m,
                               const ClusterRestoreArgs& a, const RestoreCommon& c) {
  Status refused = RefuseOptions(m, a, c);
  if (!refused.ok()) return ctx.Fail(refused);
  const Output& out = ctx.out;
  std::string server = pg::DisplayConninfo(c.server_conninfo);
  if (m.type == "globals") {
    auto key = repo.DataKey(m);
    if (!key.ok()) return ctx.Fail(key.status());
    auto g = restore::ApplyGlobals(repo, m, *key ? &**key : nullptr,
                                   {.server_conninfo = c.server_conninfo, .tablespaces = !a.no_tablespaces});
    if (!g.ok()) return ctx.Fail(g.status());
    if (out.json()) {
      out.Json({{"backup", m.id}, {"type", m.type}, {"globals", GlobalsJson(*g)}});
    } else {
      PrintGlobals(out, *g, server);
    }
    return 0;
  }
  restore::ClusterRestoreOptions o{.server_conninfo = c.server_conninfo,
                                   .jobs = c.jobs,
                                   .verify_first = c.verify_first,
                                   .only = a.only,
                                   .exclude = a.exclude,
                                   .prefix = a.prefix,
                                   .into = c.into,
                                   .globals = !a.no_globals,
                                   .tablespaces = !a.no_tablespaces};
  auto report = restore::RestoreCluster(repo, m, o);
  if (!report.ok()) return ctx.Fail(report.status());
  const auto& r = *report;
  int64_t tables = 0, rows = 0;
  bool match = true;
  nlohmann::json databases = nlohmann::json::array();
  std::vector<std::vector<std::string>> table;
  for (size_t i = 0; i < r.databases.size(); ++i) {
    const auto& d = r.databases[i];
    tables += d.tables;
    rows += d.rows;
    match = match && d.mismatches.empty();
    databases.push_back({{"database", r.sources[i]},
                         {"into", d.database},
                         {"tables", d.tables},
                         {"rows", d.rows},
                         {"large_objects", d.large_objects},
                         {"counts_match", d.mismatches.empty()},
                         {"mismatches", restore::MismatchesJson(d.mismatches)},
                         {"seconds", d.seconds}});
    table.push_back(
        {r.sources[i], d.database, std::to_string(d.tables), FormatCount(d.rows),
         d.mismatches.empty() ? out.Green("match") : out.Red(std::to_string(d.mismatches.size()) + " differ"),
         FormatDuration(d.seconds)});
  }
  if (out.json()) {
    nlohmann::json j = {{"backup", m.id},         {"type", m.type},      {"files_verified", r.files_verified},
                        {"databases", databases}, {"tables", tables},    {"rows", rows},
                        {"counts_match", match},  {"seconds", r.seconds}};
    j["globals"] = r.globals ? GlobalsJson(*r.globals) : nlohmann::json(nullptr);
    j["warnings"] = r.warnings;
    out.Json(j);
  } else {
    if (r.globals) PrintGlobals(out, *r.globals, server);
    out.Print(RenderTable({{"database"}, {"restored as"}, {"tables", true}, {"rows", true}, {"counts"}, {"took", true}},
                          table));
    for (const auto& w : r.warnings) out.Line(out.Yellow("warning: ") + w);
  }
  int code = Mismatches(ctx, r);
  if (code != 0) return code;
  out.Line("restored " + m.id + ": " + std::to_string(r.databases.size()) +
           (r.databases.size() == 1 ? " database, " : " databases, ") + std::to_string(tables) + " tables, " +
           FormatCount(rows) + " rows, all counts match (" + FormatDuration(r.seconds) + ")");
  return 0;
}

}  // namespace pgk::cli
