// Where a schema comes from. A SOURCE is one of:
//   - a database: a postgresql:// or postgres:// URL, a key=value conninfo, or "-" / empty
//     for the database given with --db (DATABASE_URL, ...);
//   - a snapshot: a file ending in .json written by `schema snapshot`;
//   - a .sql file: applied to a shadow database, introspected, dropped;
//   - a migrations directory: its up migrations applied to a shadow database (all, or up
//     to a version), introspected, dropped.
// The shadow database is a temporary database created on the server being compared
// (needs CREATEDB) or, with shadow = "local", on the embedded cluster. It is dropped even
// when applying fails, and on Ctrl-C.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "schema/model.h"

namespace pgk::schema {

struct SourceOptions {
  std::string conninfo;    // the --db database: "-" sources, and where a server shadow is created
  std::string shadow = "server";  // "server" | "local"
  std::string local_dir;   // embedded cluster directory for shadow = "local"
  std::string migrations_table = "public.schema_migrations";
  std::optional<uint64_t> migrations_version;  // for directories: apply up to this version
};

struct LoadedSchema {
  Snapshot snapshot;
  std::string description;  // e.g. "snapshot expected.json", "migrations/ at version 5 (shadow database)"
};

Result<LoadedSchema> LoadSource(const std::string& source, const SourceOptions& options);

// True when `source` names a database rather than a file or directory.
bool IsDatabaseSource(const std::string& source);

}  // namespace pgk::schema
