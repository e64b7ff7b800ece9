// Where the connection comes from, and how it is shown. Resolution order (first wins):
//   1. --db URL           2. DATABASE_URL           3. database.url in the config file
//   4. nothing: libpq's own PG* variables, service file (PGSERVICE) and ~/.pgpass apply
// Accepted forms: postgres:// and postgresql:// URLs, and key=value conninfo strings.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/config.h"
#include "common/status.h"

namespace pgk::pg {

struct ConnTarget {
  std::string conninfo;  // may be empty: libpq defaults
  std::string source;    // "--db", "DATABASE_URL", "config file ./pgkeeper.toml", "libpq environment"
};

Result<ConnTarget> ResolveTarget(const std::optional<std::string>& flag, const Config& config);

// Bad syntax in a URL or conninfo string is bad input (exit 2), caught before connecting.
Status ValidateConninfo(const std::string& conninfo);

// Parsed settings that were given explicitly (not libpq defaults).
Result<std::map<std::string, std::string>> ParseConninfo(const std::string& conninfo);

// Renders settings as a key=value conninfo string with correct quoting.
std::string BuildConninfo(const std::map<std::string, std::string>& settings);

// The same server and credentials, another database (e.g. `postgres` to CREATE DATABASE).
Result<std::string> WithDatabase(const std::string& conninfo, const std::string& dbname);

// For display: a URL with the password masked, e.g. postgresql://app:***@db:5432/app.
// An empty conninfo is described from the PG* environment.
std::string DisplayConninfo(const std::string& conninfo);

}  // namespace pgk::pg
