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

// Writes the migrations to `dir` (a private temporary directory when empty) and applies
// them with the migration runner (`migrate up`). Returns how many ran.
Result<int> ApplyExampleMigrations(pg::Connection& conn, const std::string& dir = "");

}  // namespace pgk::demo
