// Restoring the globals of a globals or cluster backup onto a server: roles (attributes,
// settings, memberships, comments) and tablespaces. Roles that exist already are not
// created again but get the backup's attributes (pg_dumpall's ALTER ROLE ... WITH ...),
// and no statement ever touches a password. The roles part runs in one transaction: it
// applies completely or not at all. Tablespaces cannot be created in a transaction, so
// that part runs statement by statement afterwards; an existing tablespace is kept.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "pipeline/key.h"
#include "repo/manifest.h"
#include "repo/repository.h"

namespace pgk::restore {

struct GlobalsOptions {
  std::string server_conninfo;  // any database on the target server
  bool tablespaces = true;      // false: roles only (the tablespace part is skipped)
};

struct GlobalsReport {
  std::vector<std::string> roles_created;
  std::vector<std::string> roles_existing;  // kept, with the backup's attributes applied
  std::vector<std::string> tablespaces_created;
  std::vector<std::string> tablespaces_existing;  // kept as they are
  int statements = 0;                             // statements executed
};

// Refused for a globals or cluster backup (or any other non-logical type), naming it and
// pointing at `restore ID`; OK for a logical one. For the code that takes one database.
Status RefuseUnlessLogical(const repo::Manifest& m);

// `m` is a globals or cluster backup (NotFound when it has no globals file); the file is
// verified as it is read, before anything is executed. Errors name the statement's line.
Result<GlobalsReport> ApplyGlobals(repo::Repository& repo, const repo::Manifest& m, const pipeline::Key* data_key,
                                   const GlobalsOptions& options);

}  // namespace pgk::restore
