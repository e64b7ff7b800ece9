// The statements of a globals backup (pg_dumpall --globals-only --no-role-passwords), sorted
// for restore: which ones create a role or a tablespace (skipped when it exists), and which
// ones belong to the tablespace part, which cannot run in a transaction. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pgk::restore {

struct GlobalsStatement {
  enum class Kind {
    kCreateRole,        // CREATE ROLE name;  (pg_dumpall follows it with ALTER ROLE ... WITH ...)
    kRole,              // anything else of the roles part: ALTER ROLE, GRANT role, COMMENT, SET ...
    kCreateTablespace,  // CREATE TABLESPACE name OWNER ... LOCATION ...
    kTablespace,        // GRANT/ALTER/COMMENT ... ON TABLESPACE
  };
  Kind kind = Kind::kRole;
  std::string text;  // without the terminating ';'
  std::string name;  // the role or tablespace created (kCreateRole, kCreateTablespace)
  int line = 0;      // 1-based line in the script
};

// Splits `sql` (psql meta-commands already removed) into statements. Malformed, naming
// `origin` and the line, when a role statement sets a password (pgkeeper's globals backups
// never hold one, and restoring one must never change an existing role's password) or a
// CREATE ROLE / CREATE TABLESPACE does not name exactly one object.
Result<std::vector<GlobalsStatement>> ParseGlobalsScript(std::string_view sql, const std::string& origin);

}  // namespace pgk::restore
