// Backups beyond one database: `globals` (roles and tablespaces, as `pg_dumpall
// --globals-only --no-role-passwords` writes them, so never a password) and `cluster`
// (the globals, then every database of the server as a logical backup). The layout is in
// docs/repository-format.md: a cluster backup is one backup directory and one manifest;
// each database's files live under db/<n>/ and are described by repo::ManifestDatabase.
// Each database is consistent in itself (its own exported snapshot), as with pg_dumpall;
// the databases are not one snapshot together.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backup/logical.h"
#include "common/status.h"
#include "repo/manifest.h"
#include "repo/repository.h"

namespace pgk::backup {

struct GlobalsResult {
  repo::Manifest manifest;
  int roles = 0;        // roles on the server at backup time (pg_* roles excluded)
  int tablespaces = 0;  // user tablespaces (pg_default and pg_global excluded)
  std::string warning;  // the "suspiciously small" sanity check
};

// `o.conninfo` names any database of the server; compression, level and tag apply.
// Table filters, --schema-only and --data-only are refused (InvalidArgument).
Result<GlobalsResult> RunGlobalsBackup(repo::Repository& repository, const LogicalOptions& o,
                                       const std::function<void(const std::string&)>& progress);

struct ClusterOptions {
  // conninfo: any database of the server; jobs, compression, tag, schema_only and
  // include_unlogged apply to every database. Table filters and data_only are refused.
  LogicalOptions logical;
  std::vector<std::string> exclude_databases;  // exact names; one that does not exist is an error
};

// Every database that accepts connections and is not a template (template1's own objects
// are not kept), in name order. Writes the manifest last; on failure removes what it wrote.
Result<GlobalsResult> RunClusterBackup(repo::Repository& repository, const ClusterOptions& o,
                                       const std::function<void(const std::string&)>& progress);

}  // namespace pgk::backup
