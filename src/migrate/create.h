// `migrate create`: the next migration's files, numbered and named like the existing ones.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "migrate/files.h"

namespace pgk::migrate {

// "Add users table!" -> "add_users_table". Empty if nothing usable remains.
std::string SanitizeTitle(const std::string& title);

// Writes {next}_{title}.up.sql and .down.sql (or one {next}_{title}.sql when the directory
// uses the up-only layout), next = highest version + 1, zero-padded to the existing width
// (6 digits in an empty directory). Returns the paths written. Never overwrites.
Result<std::vector<std::string>> CreateMigration(const std::string& dir, const std::string& title);

}  // namespace pgk::migrate
