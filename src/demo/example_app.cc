#include "demo/example_app.h"

#include <optional>

#include "common/fs.h"
#include "migrate/runner.h"

namespace pgk::demo {

Status WriteExampleMigrations(const std::string& dir) {
  PGK_RETURN_IF_ERROR(fs::MakeDirs(dir));
  for (const auto& [name, text] : ExampleMigrationFiles()) {
    PGK_RETURN_IF_ERROR(fs::WriteFile(dir + "/" + name, text, {.sync = false}));
  }
  return Status::Ok();
}

Result<int> ApplyExampleMigrations(pg::Connection& conn, const std::string& dir) {
  std::optional<fs::TempDir> tmp;
  std::string target = dir;
  if (target.empty()) {
    PGK_ASSIGN_OR_RETURN(auto t, fs::TempDir::Create("pgkeeper-example-"));
    tmp.emplace(std::move(t));
    target = tmp->path().string();
  }
  PGK_RETURN_IF_ERROR(WriteExampleMigrations(target));
  PGK_ASSIGN_OR_RETURN(auto files, migrate::LoadMigrations(target));
  migrate::Runner runner(conn, files, {});
  PGK_ASSIGN_OR_RETURN(auto result, runner.Run([](const migrate::StatusReport& s) { return migrate::PlanUp(s, 0, {}); },
                                               nullptr));
  return static_cast<int>(result.steps.size());
}

}  // namespace pgk::demo
