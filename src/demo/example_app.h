// The bundled example application (examples/escrowgrid), embedded in the binary so that
// `pgkeeper demo` runs from any directory.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"

namespace pgk::demo {

// (file name, contents) of every migration file, sorted by name. Generated at build time.
std::vector<std::pair<std::string, std::string>> ExampleMigrationFiles();

// Writes the migration files into `dir` (created 0700 if missing), for users to inspect
// and to run `pgkeeper migrate` against.
Status WriteExampleMigrations(const std::string& dir);

// Applies every *.up.sql in order, each in its own transaction. Returns how many ran.
// (The demo's bootstrap; the migrations capability replaces it with `migrate up`.)
Result<int> ApplyExampleMigrations(pg::Connection& conn);

}  // namespace pgk::demo
