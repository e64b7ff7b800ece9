#include <chrono>
#include <memory>

#include "check/report.h"
#include "cli/commands.h"
#include "migrate/check_section.h"
#include "schema/check_section.h"

namespace pgk::cli {

namespace {

struct CheckArgs {
  bool exact = false;
  bool strict = false;
};

std::string Marker(const Output& out, check::Severity s) {
  switch (s) {
    case check::Severity::kOk:
      return out.Green("ok   ");
    case check::Severity::kInfo:
      return out.Dim("info ");
    case check::Severity::kWarning:
      return out.Yellow("WARN ");
    case check::Severity::kError:
      return out.Red("FAIL ");
  }
  return "";
}

void RenderHuman(const Output& out, const check::CheckReport& r, bool strict) {
  out.Line(out.Bold("pgkeeper check") + "  " + r.target + out.Dim("  (from " + r.source + ")"));
  out.Line();
  std::vector<std::vector<std::string>> facts = {
      {"connection", "ok, user " + r.user + ", " + FormatDuration(r.connect_ms / 1000) + (r.ssl ? ", TLS" : ", no TLS")},
      {"server", "PostgreSQL " + r.server_version + (r.in_recovery ? ", standby" : ", primary") + ", up " +
                     FormatDuration(static_cast<double>(r.uptime_s))},
      {"database", r.database + ", " + FormatBytes(r.database_bytes) + ", " + std::to_string(r.tables.size()) +
                       (r.tables.size() == 1 ? " table" : " tables")},
  };
  out.Print(RenderTable({{""}, {""}}, facts, "", false));
  out.Line();
  out.Line(out.Bold("Settings"));
  std::vector<std::vector<std::string>> settings;
  for (const auto& s : r.settings) settings.push_back({s.name, s.value.empty() ? "(empty)" : s.value});
  out.Print(RenderTable({{""}, {""}}, settings, "  ", false));
  out.Line();
  if (!r.tables.empty()) {
    out.Line(out.Bold("Tables"));
    std::vector<Column> cols = {{"table"}, {r.exact_counts ? "rows" : "rows (est.)", true}, {"data", true},
                                {"indexes", true}, {"total", true}};
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : r.tables) {
      std::string rows_s = r.exact_counts && t.exact_rows ? FormatCount(*t.exact_rows)
                           : t.row_estimate < 0        ? out.Dim("not analyzed")
                                                       : FormatCount(t.row_estimate);
      std::string name = t.schema + "." + t.name;
      if (t.kind != "table") name += out.Dim(" (" + t.kind + ")");
      if (t.unlogged) name += out.Dim(" (unlogged)");
      rows.push_back({name, rows_s, FormatBytes(t.table_bytes), FormatBytes(t.index_bytes), FormatBytes(t.total_bytes)});
    }
    out.Print(RenderTable(cols, rows));
    out.Line();
  }
  for (const auto& [name, section] : r.sections.items()) {
    out.Line(out.Bold(name));
    if (section.is_object()) {
      for (const auto& [k, v] : section.items()) out.Line("  " + k + ": " + (v.is_string() ? v.get<std::string>() : v.dump()));
    }
    out.Line();
  }
  out.Line(out.Bold("Findings"));
  for (const auto& f : r.findings) {
    out.Line("  " + Marker(out, f.severity) + f.message);
    if (!f.hint.empty() && f.severity >= check::Severity::kWarning) out.Line("        " + out.Dim("hint: " + f.hint));
  }
  out.Line();
  int errors = r.Count(check::Severity::kError);
  int warnings = r.Count(check::Severity::kWarning);
  std::string summary = std::to_string(errors) + (errors == 1 ? " error, " : " errors, ") + std::to_string(warnings) +
                        (warnings == 1 ? " warning" : " warnings");
  if (r.Healthy(strict)) {
    out.Line(out.Green(out.Bold("healthy")) + " (" + summary + ")");
  } else {
    out.Line(out.Red(out.Bold("unhealthy")) + " (" + summary + (strict && errors == 0 ? ", --strict" : "") + ")");
  }
}

}  // namespace

void SetupCheck(CLI::App* cmd, Handler* handler) {
  migrate::RegisterMigrationCheck();
  schema::RegisterSchemaCheck();
  auto args = std::make_shared<CheckArgs>();
  cmd->add_flag("--exact", args->exact, "Count rows exactly (one consistent snapshot) instead of estimates");
  cmd->add_flag("--strict", args->strict, "Treat warnings as problems (exit 1)");
  cmd->footer("Exit codes: 0 healthy, 1 unhealthy, 2 bad input, 3 cannot connect.");
  *handler = [args](Context& ctx) {
    auto target = ctx.Target();
    if (!target.ok()) return ctx.Fail(target.status());
    auto started = std::chrono::steady_clock::now();
    auto conn = ctx.Connect();
    if (!conn.ok()) return ctx.Fail(conn.status());
    double connect_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    check::CheckOptions options{.exact = args->exact || ctx.config.GetBool("check.exact_counts").value_or(false),
                                .strict = args->strict || ctx.config.GetBool("check.strict").value_or(false),
                                .config = &ctx.config,
                                .conninfo = target->conninfo};
    auto report = check::RunCheck(*conn, options);
    if (!report.ok()) return ctx.Fail(report.status());
    report->source = target->source;
    report->connect_ms = connect_ms;
    if (ctx.out.json()) {
      ctx.out.Json(report->ToJson(options.strict));
    } else {
      RenderHuman(ctx.out, *report, options.strict);
    }
    return report->Healthy(options.strict) ? 0 : 1;
  };
}

}  // namespace pgk::cli
