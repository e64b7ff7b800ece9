// `roles reset-passwords`: setting roles' passwords after a globals or cluster restore
// (those backups never hold passwords). Passwords come from environment variables or a
// private file (formats in docs/commands/roles.md), are hashed on the client with
// PQencryptPasswordConn (SCRAM-SHA-256), so neither the server nor its log ever sees
// them, and are set in one transaction after everything was validated.
//
// A password never appears in a message, a log line, JSON or a child's argv: messages
// name the variable or the file line instead.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"

namespace pgk::roles {

struct RolePassword {
  std::string role;      // the exact role name
  std::string password;  // never printed
  std::string origin;    // where it was given: "PGK_PW_APP", "passwords.txt line 3"
  RolePassword() = default;
  RolePassword(std::string r, std::string p, std::string o)
      : role(std::move(r)), password(std::move(p)), origin(std::move(o)) {}
  RolePassword(const RolePassword&) = default;
  RolePassword& operator=(const RolePassword&) = default;
  ~RolePassword();  // overwrites the password's bytes (best effort)
};

// Every `environ` entry "NAME=VALUE" whose NAME starts with `prefix` (and is longer): the
// role is the rest of NAME in lower case. InvalidArgument when the prefix is empty or
// matches nothing; Malformed when a value is empty or two variables name the same role.
Result<std::vector<RolePassword>> PasswordsFromEnvironment(const std::string& prefix,
                                                           const std::vector<std::string>& env);
// The same, from this process's environment.
Result<std::vector<RolePassword>> PasswordsFromEnvironment(const std::string& prefix);

// Lines "ROLE:PASSWORD"; blank lines and lines starting with '#' are skipped. ROLE is the
// exact role name, written in double quotes (with "" for a quote) when it contains ':' or
// starts with '"' or '#'; spaces around an unquoted ROLE are ignored. PASSWORD is the rest
// of the line, exactly (a final '\r' removed). Malformed naming `origin` and the line
// (never its text) for anything else, and when the file sets no password.
Result<std::vector<RolePassword>> ParsePasswordFile(std::string_view text, const std::string& origin);
// Reads `path` (refused when group or others can access it) and parses it.
Result<std::vector<RolePassword>> ReadPasswordFile(const std::string& path);

struct ResetOptions {
  bool ignore_missing = false;  // set the roles that exist, report the others
  bool dry_run = false;         // validate and check the roles, change nothing
};

struct ResetReport {
  std::vector<std::string> set;      // roles whose password was set (or would be, dry run)
  std::vector<std::string> missing;  // roles given that do not exist on the server
};

// NotFound (nothing changed) when a role does not exist and !ignore_missing. Otherwise
// hashes every password, then sets them all in one transaction: all or none.
Result<ResetReport> ResetPasswords(pg::Connection& conn, const std::vector<RolePassword>& passwords,
                                   const ResetOptions& options);

}  // namespace pgk::roles
