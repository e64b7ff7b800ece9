// The database-level properties a logical backup does not hold (they live in the shared
// catalogs, outside pg_dump's sections): read from a database that `restore --replace` is
// about to replace and carried over to its replacement, and recorded per database in a
// cluster backup so that its restore recreates them, so that applications keep their
// CONNECT privilege, their `ALTER DATABASE ... SET` settings and the owner they expect.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"

namespace pgk::pg {

struct DatabaseSetting {
  std::string role;  // empty: for every role (ALTER DATABASE SET), else ALTER ROLE .. IN DATABASE
  std::string name;
  std::string value;  // as pg_db_role_setting stores it
};

struct DatabaseGrant {
  std::string grantee;    // a role name, or empty for PUBLIC
  std::string privilege;  // CONNECT, CREATE, TEMPORARY
  bool grantable = false;
};

struct DatabaseProps {
  // CREATE DATABASE options: the replacement sorts and stores text as the original did.
  std::string encoding;
  std::string collate;
  std::string ctype;
  std::string locale_provider;  // "" (before PostgreSQL 15), "c", "i" or "b"
  std::string locale;           // the ICU or builtin locale, when the provider is not libc
  std::string tablespace;
  // Applied to the replacement once it is restored.
  std::string owner;
  int connection_limit = -1;
  bool default_privileges = true;  // datacl IS NULL: nothing granted or revoked
  std::vector<DatabaseGrant> grants;
  std::vector<DatabaseSetting> settings;
  std::string comment;
};

// The properties of `db` as the connection's server has them (NotFound when it does not
// exist).
Result<DatabaseProps> ReadDatabaseProps(pg::Connection& conn, const std::string& db);

// The clauses after CREATE DATABASE x TEMPLATE template0 that give a new database the
// same encoding, locale and tablespace.
std::string CreateClauses(const DatabaseProps& props);

// Gives `db` the owner, connection limit, privileges, settings and comment of `props`.
// Needs what ALTER DATABASE ... OWNER TO needs (superuser, or membership in the owner role).
Status ApplyDatabaseProps(pg::Connection& conn, const DatabaseProps& props, const std::string& db);

// The properties as a JSON object (stored in cluster backups' manifests, one per
// database) and back; InvalidArgument names the field that is malformed.
nlohmann::json PropsToJson(const DatabaseProps& props);
Result<DatabaseProps> PropsFromJson(const nlohmann::json& j);

// A setting's value as SQL after SET name TO: one literal, except for the list settings
// whose elements pg_db_role_setting stores quoted (search_path and friends), which become
// one literal per element, as pg_dump renders them.
std::string SettingValueSql(const std::string& name, const std::string& value);

}  // namespace pgk::pg
