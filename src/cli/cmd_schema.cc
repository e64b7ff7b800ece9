// `pgkeeper schema snapshot|diff|check|sql`: does the database have exactly the schema
// the application expects?
#include <memory>

#include "cli/commands.h"
#include "common/fs.h"
#include "migrate/history.h"
#include "migrate/runner.h"
#include "schema/ddl.h"
#include "schema/diff.h"
#include "schema/json.h"
#include "schema/source.h"

namespace pgk::cli {

namespace {

struct SchemaArgs {
  std::string output;
  std::string shadow;
  std::string dir;
  std::string table;
  std::string expect;
  std::string a;
  std::string b;
  std::string source;
  bool strict = false;
  bool no_grants = false;
  bool no_comments = false;
};

Result<schema::SourceOptions> Options(const Context& ctx, const SchemaArgs& a) {
  schema::SourceOptions o;
  auto target = ctx.Target();
  if (target.ok()) o.conninfo = target->conninfo;
  o.shadow = !a.shadow.empty() ? a.shadow : ctx.config.GetString("schema.shadow").value_or("server");
  o.local_dir = ctx.LocalDir("");
  o.migrations_table = !a.table.empty() ? a.table
                                        : ctx.config.GetString("migrations.table").value_or("public.schema_migrations");
  return o;
}

std::string Sev(const Output& out, schema::Severity s) {
  switch (s) {
    case schema::Severity::kError:
      return out.Red("error  ");
    case schema::Severity::kWarning:
      return out.Yellow("warning");
    case schema::Severity::kInfo:
      return out.Dim("info   ");
  }
  return "";
}

int Report(const Context& ctx, const schema::DiffResult& d, const std::string& expected, const std::string& actual,
           bool strict) {
  const Output& out = ctx.out;
  int errors = d.Count(schema::Severity::kError), warnings = d.Count(schema::Severity::kWarning),
      infos = d.Count(schema::Severity::kInfo);
  if (out.json()) {
    nlohmann::json diffs = nlohmann::json::array();
    for (const auto& x : d.differences) {
      nlohmann::json j = {{"severity", schema::SeverityName(x.severity)}, {"object_kind", x.object_kind},
                          {"object", x.object}, {"what", x.what}, {"message", x.Message()}};
      if (!x.item.empty()) j["item"] = x.item;
      if (!x.expected.empty()) j["expected"] = x.expected;
      if (!x.actual.empty()) j["actual"] = x.actual;
      diffs.push_back(j);
    }
    out.Json({{"equal", d.differences.empty()}, {"passed", !d.Fails(strict)}, {"expected", expected},
              {"actual", actual}, {"differences", diffs},
              {"summary", {{"errors", errors}, {"warnings", warnings}, {"info", infos}}},
              {"not_compared", d.not_compared}});
  } else {
    out.Line(out.Dim("expected: " + expected));
    out.Line(out.Dim("actual:   " + actual));
    out.Line();
    std::string current;
    for (const auto& x : d.differences) {
      if (x.object != current) {
        if (!current.empty()) out.Line();
        current = x.object;
        out.Line(out.Bold(x.object) + out.Dim(" (" + x.object_kind + ")"));
      }
      out.Line("  " + Sev(out, x.severity) + "  " + x.Message());
    }
    if (!d.differences.empty()) out.Line();
    if (d.differences.empty()) {
      out.Line(out.Green("identical") + ": no differences");
    } else {
      std::string summary = std::to_string(errors) + (errors == 1 ? " error, " : " errors, ") + std::to_string(warnings) +
                            (warnings == 1 ? " warning, " : " warnings, ") + std::to_string(infos) + " info";
      out.Line((d.Fails(strict) ? out.Red("schemas differ") : out.Yellow("schemas differ only in details")) + ": " +
               summary + (strict && errors == 0 && warnings > 0 ? " (--strict)" : ""));
    }
    if (!d.not_compared.empty()) {
      std::string nc;
      for (const auto& k : d.not_compared) nc += (nc.empty() ? "" : ", ") + k;
      out.Line(out.Dim("not compared: " + nc));
    }
  }
  return d.Fails(strict) ? 1 : 0;
}

// The expected schema for `schema check` when --expect is not given: the migrations
// directory at the version the live database has applied.
Result<schema::LoadedSchema> DefaultExpected(const Context& ctx, const SchemaArgs& a, schema::SourceOptions o) {
  std::string dir = !a.dir.empty() ? a.dir : ctx.config.GetString("migrations.dir").value_or("migrations");
  if (auto expect = ctx.config.GetString("schema.expect")) return schema::LoadSource(*expect, o);
  PGK_ASSIGN_OR_RETURN(pg::Connection conn, ctx.Connect());
  PGK_ASSIGN_OR_RETURN(auto files, migrate::LoadMigrations(dir));
  PGK_ASSIGN_OR_RETURN(auto table, migrate::ParseTableName(o.migrations_table));
  migrate::Runner runner(conn, files, {.table = table});
  std::vector<std::string> notes;
  PGK_ASSIGN_OR_RETURN(auto status, runner.ReadStatus(&notes));
  if (!status.current) {
    return Status::NotFound("the database records no applied migration in " + table.Display(),
                            "pass the expected schema with --expect (a snapshot, a .sql file or a migrations directory)");
  }
  o.migrations_version = status.current;
  return schema::LoadSource(dir, o);
}

}  // namespace

void SetupSchema(CLI::App* cmd, Handler* handler) {
  auto a = std::make_shared<SchemaArgs>();
  cmd->require_subcommand(1);
  cmd->add_option("--shadow", a->shadow, "Where .sql files and migrations are applied: server (default) or local")
      ->check(CLI::IsMember({"server", "local"}));
  cmd->add_option("--table", a->table, "Migration history table to leave out of comparisons");
  cmd->footer(
      "SOURCE: a database URL or conninfo ('-' for --db), a snapshot .json, a .sql file, or a migrations directory.\n"
      "Exit codes: 0 same (warnings allowed unless --strict), 1 differences, 2 bad input, 3 runtime failure.");
  auto* snap = cmd->add_subcommand("snapshot", "Write the schema as a stable JSON snapshot");
  snap->add_option("SOURCE", a->source, "What to snapshot (default: the --db database)");
  snap->add_option("-o,--output", a->output, "Write to FILE (0600) instead of stdout");
  auto* diff = cmd->add_subcommand("diff", "Every difference between two schemas, with severities");
  diff->add_option("A", a->a, "Expected schema")->required();
  diff->add_option("B", a->b, "Actual schema")->required();
  diff->add_flag("--strict", a->strict, "Warnings fail too (exit 1)");
  auto* chk = cmd->add_subcommand("check", "The --db database against the expected schema");
  chk->add_option("--expect", a->expect,
                  "Expected schema (default: schema.expect, or the migrations directory at the applied version)");
  chk->add_option("--dir", a->dir, "Migrations directory (default: migrations.dir, or ./migrations)");
  chk->add_flag("--strict", a->strict, "Warnings fail too (exit 1)");
  auto* sql = cmd->add_subcommand("sql", "The DDL that recreates a schema, in dependency order");
  sql->add_option("SOURCE", a->source, "What to render (default: the --db database)");
  sql->add_option("-o,--output", a->output, "Write to FILE (0600) instead of stdout");
  sql->add_flag("--no-grants", a->no_grants, "Leave out GRANT statements");
  sql->add_flag("--no-comments", a->no_comments, "Leave out COMMENT statements");

  *handler = [=](Context& ctx) -> int {
    auto opts = Options(ctx, *a);
    if (!opts.ok()) return ctx.Fail(opts.status());
    std::string name = cmd->get_subcommands().front()->get_name();
    if (name == "snapshot" || name == "sql") {
      auto loaded = schema::LoadSource(a->source, *opts);
      if (!loaded.ok()) return ctx.Fail(loaded.status());
      std::string text = name == "snapshot"
                             ? schema::SerializeSnapshot(loaded->snapshot)
                             : schema::GenerateSql(loaded->snapshot, {.grants = !a->no_grants, .comments = !a->no_comments});
      if (!a->output.empty()) {
        Status s = fs::WriteFile(a->output, text);
        if (!s.ok()) return ctx.Fail(s);
        if (ctx.out.json()) {
          ctx.out.Json({{"written", a->output}, {"source", loaded->description},
                        {"tables", loaded->snapshot.tables.size()}});
        } else {
          ctx.out.Line("wrote " + a->output + " from " + loaded->description);
        }
      } else {
        // The snapshot is JSON already; SQL goes to stdout as text either way.
        std::fputs(text.c_str(), stdout);
      }
      return 0;
    }
    if (name == "diff") {
      auto expected = schema::LoadSource(a->a, *opts);
      if (!expected.ok()) return ctx.Fail(expected.status());
      auto actual = schema::LoadSource(a->b, *opts);
      if (!actual.ok()) return ctx.Fail(actual.status());
      return Report(ctx, schema::Diff(expected->snapshot, actual->snapshot), expected->description,
                    actual->description, a->strict);
    }
    // check
    Result<schema::LoadedSchema> expected = a->expect.empty() ? DefaultExpected(ctx, *a, *opts)
                                                              : schema::LoadSource(a->expect, *opts);
    if (!expected.ok()) return ctx.Fail(expected.status());
    auto actual = schema::LoadSource("-", *opts);
    if (!actual.ok()) return ctx.Fail(actual.status());
    return Report(ctx, schema::Diff(expected->snapshot, actual->snapshot), expected->description, actual->description,
                  a->strict);
  };
}

}  // namespace pgk::cli
