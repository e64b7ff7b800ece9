#include "schema/check_section.h"

#include <filesystem>
#include <mutex>

#include "check/report.h"
#include "migrate/runner.h"
#include "schema/diff.h"
#include "schema/introspect.h"
#include "schema/source.h"

namespace pgk::schema {

namespace {

Status SchemaSection(pg::Connection& conn, const check::CheckOptions& options, check::CheckReport& report) {
  const Config* config = options.config;
  if (!config) return Status::Ok();
  SourceOptions so;
  // The shadow goes on the same server: reuse this connection's settings.
  so.conninfo = options.conninfo;
  so.shadow = config->GetString("schema.shadow").value_or("server");
  so.local_dir = config->GetString("local.dir").value_or(".pgkeeper-demo");
  so.migrations_table = config->GetString("migrations.table").value_or("public.schema_migrations");
  std::string expect;
  if (auto e = config->GetString("schema.expect")) {
    expect = *e;
  } else {
    std::string dir = config->GetString("migrations.dir").value_or("migrations");
    if (!std::filesystem::is_directory(dir)) return Status::Ok();  // nothing to compare against
    auto files = migrate::LoadMigrations(dir);
    if (!files.ok()) return Status::Ok();  // the migrations section reports bad files
    PGK_ASSIGN_OR_RETURN(auto table, migrate::ParseTableName(so.migrations_table));
    migrate::Runner runner(conn, *files, {.table = table});
    std::vector<std::string> notes;
    auto status = runner.ReadStatus(&notes);
    if (!status.ok() || !status->current) return Status::Ok();
    so.migrations_version = status->current;
    expect = dir;
  }
  auto expected = LoadSource(expect, so);
  if (!expected.ok()) {
    report.findings.push_back({check::Severity::kWarning, "schema",
                               "could not build the expected schema: " + expected.status().message(),
                               expected.status().hint()});
    return Status::Ok();
  }
  PGK_ASSIGN_OR_RETURN(Snapshot actual, Introspect(conn));
  PGK_ASSIGN_OR_RETURN(auto table, migrate::ParseTableName(so.migrations_table));
  ExcludeTables(actual, {Qualified(table.schema, table.table)});
  DiffResult d = Diff(expected->snapshot, actual);
  int errors = d.Count(Severity::kError), warnings = d.Count(Severity::kWarning);
  report.sections["schema"] = {{"expected", expected->description},
                               {"errors", errors},
                               {"warnings", warnings},
                               {"info", d.Count(Severity::kInfo)}};
  if (errors) {
    std::string first;
    for (const auto& x : d.differences)
      if (x.severity == Severity::kError) {
        first = x.object + ": " + x.Message();
        break;
      }
    report.findings.push_back({check::Severity::kError, "schema",
                               "schema drift: " + std::to_string(errors) + " error(s), e.g. " + first,
                               "run `pgkeeper schema check` for the full list"});
  } else if (warnings) {
    report.findings.push_back({check::Severity::kWarning, "schema",
                               "schema has " + std::to_string(warnings) + " extra or differing detail(s)",
                               "run `pgkeeper schema check` for the list"});
  } else {
    report.findings.push_back({check::Severity::kOk, "schema", "schema matches " + expected->description, ""});
  }
  return Status::Ok();
}

}  // namespace

void RegisterSchemaCheck() {
  static std::once_flag once;
  std::call_once(once, [] { check::RegisterCheckSection("schema", &SchemaSection); });
}

}  // namespace pgk::schema
