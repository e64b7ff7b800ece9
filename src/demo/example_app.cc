#include "demo/example_app.h"

#include "common/fs.h"

namespace pgk::demo {

Status WriteExampleMigrations(const std::string& dir) {
  PGK_RETURN_IF_ERROR(fs::MakeDirs(dir));
  for (const auto& [name, text] : ExampleMigrationFiles()) {
    PGK_RETURN_IF_ERROR(fs::WriteFile(dir + "/" + name, text, {.sync = false}));
  }
  return Status::Ok();
}

Result<int> ApplyExampleMigrations(pg::Connection& conn) {
  int applied = 0;
  for (const auto& [name, text] : ExampleMigrationFiles()) {
    if (name.size() < 7 || name.compare(name.size() - 7, 7, ".up.sql") != 0) continue;
    PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn));
    PGK_RETURN_IF_ERROR(conn.Exec(text).WithContext("migration " + name));
    PGK_RETURN_IF_ERROR(tx.Commit());
    ++applied;
  }
  return applied;
}

}  // namespace pgk::demo
