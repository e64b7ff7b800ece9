#include "migrate/check_section.h"

#include <filesystem>
#include <mutex>

#include "check/report.h"
#include "migrate/runner.h"

namespace pgk::migrate {

Status AddMigrationSection(pg::Connection& conn, const check::CheckOptions& options, check::CheckReport& report) {
  const Config* config = options.config;
  std::string table_text = config ? config->GetString("migrations.table").value_or("public.schema_migrations")
                                  : "public.schema_migrations";
  PGK_ASSIGN_OR_RETURN(TableName table, ParseTableName(table_text));
  std::string dir = config ? config->GetString("migrations.dir").value_or("migrations") : "migrations";
  History history(conn, table);
  PGK_ASSIGN_OR_RETURN(Shape shape, history.DetectShape());
  nlohmann::json section = {{"history_table", table.Display()}};
  if (shape == Shape::kMissing) {
    section["state"] = "no history table";
    report.sections["migrations"] = section;
    report.findings.push_back({check::Severity::kInfo, "migrations", "no migration history in " + table.Display(), ""});
    return Status::Ok();
  }
  MigrationSet files;
  bool have_files = std::filesystem::is_directory(dir);
  if (have_files) {
    auto loaded = LoadMigrations(dir);
    if (loaded.ok()) {
      files = std::move(loaded).value();
    } else {
      have_files = false;
      report.findings.push_back({check::Severity::kWarning, "migrations", loaded.status().message(), loaded.status().hint()});
    }
  }
  Runner runner(conn, files, {.table = table});
  std::vector<std::string> notes;
  PGK_ASSIGN_OR_RETURN(StatusReport status, runner.ReadStatus(&notes));
  section["current_version"] = status.current ? nlohmann::json(*status.current) : nlohmann::json(nullptr);
  section["dirty"] = status.failed.has_value();
  section["applied"] = status.Count(State::kApplied) + status.Count(State::kChanged) + status.Count(State::kMissing);
  if (have_files) {
    section["directory"] = dir;
    section["pending"] = status.Count(State::kPending);
    section["changed"] = status.Count(State::kChanged);
  }
  report.sections["migrations"] = section;
  if (status.failed) {
    Status dirty = CheckNotDirty(status, table);
    report.findings.push_back({check::Severity::kError, "migrations", dirty.message(), dirty.hint()});
  } else {
    report.findings.push_back({check::Severity::kOk, "migrations",
                               "migrations at version " + (status.current ? std::to_string(*status.current) : "none") +
                                   (have_files ? ", " + std::to_string(status.Count(State::kPending)) + " pending" : ""),
                               ""});
  }
  if (have_files && status.Count(State::kChanged) > 0) {
    report.findings.push_back({check::Severity::kWarning, "migrations",
                               std::to_string(status.Count(State::kChanged)) + " applied migration(s) changed on disk",
                               "run `pgkeeper migrate validate` for the list"});
  }
  return Status::Ok();
}

void RegisterMigrationCheck() {
  static std::once_flag once;
  std::call_once(once, [] { check::RegisterCheckSection("migrations", &AddMigrationSection); });
}

}  // namespace pgk::migrate
