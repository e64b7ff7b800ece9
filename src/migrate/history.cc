#include "migrate/history.h"

#include <unistd.h>

#include <map>
#include <set>

#include "pg/quote.h"

namespace pgk::migrate {

namespace {

constexpr const char* kColumns =
    "version, name, checksum, applied_at, duration_ms, applied_by, applied_host, success, no_transaction, source, "
    "error";

// The columns pgkeeper adds to an adopted table, with their defaults.
constexpr const char* kAddColumns =
    "ADD COLUMN IF NOT EXISTS name text NOT NULL DEFAULT '', "
    "ADD COLUMN IF NOT EXISTS checksum text NOT NULL DEFAULT '', "
    "ADD COLUMN IF NOT EXISTS applied_at timestamptz NOT NULL DEFAULT now(), "
    "ADD COLUMN IF NOT EXISTS duration_ms bigint NOT NULL DEFAULT 0, "
    "ADD COLUMN IF NOT EXISTS applied_by text NOT NULL DEFAULT current_user, "
    "ADD COLUMN IF NOT EXISTS applied_host text NOT NULL DEFAULT '', "
    "ADD COLUMN IF NOT EXISTS success boolean NOT NULL DEFAULT true, "
    "ADD COLUMN IF NOT EXISTS no_transaction boolean NOT NULL DEFAULT false, "
    "ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'pgkeeper', "
    "ADD COLUMN IF NOT EXISTS error text";

std::string VersionList(const std::vector<uint64_t>& versions) {
  std::string out;
  for (size_t i = 0; i < versions.size(); ++i) {
    if (i == 8 && versions.size() > 10) {
      out += ", ... (" + std::to_string(versions.size() - 9) + " more), " + std::to_string(versions.back());
      break;
    }
    out += (i ? ", " : "") + std::to_string(versions[i]);
  }
  return out;
}

}  // namespace

std::string TableName::Quoted() const { return pg::QuoteQualified(schema, table); }

Result<TableName> ParseTableName(const std::string& text) {
  std::vector<std::string> parts;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      if (quoted && i + 1 < text.size() && text[i + 1] == '"') {
        cur += '"';
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (c == '.' && !quoted) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += quoted ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  parts.push_back(cur);
  if (quoted || parts.size() > 2 || parts.back().empty() || (parts.size() == 2 && parts[0].empty())) {
    return Status::InvalidArgument("invalid history table name '" + text + "'", "use table or schema.table");
  }
  TableName t;
  if (parts.size() == 2) t.schema = parts[0];
  t.table = parts.back();
  return t;
}

std::string LocalHostName() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

Result<Shape> History::DetectShape() {
  PGK_ASSIGN_OR_RETURN(auto cols, conn_.Query(R"sql(
    SELECT a.attname, format_type(a.atttypid, a.atttypmod)
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
       AND a.attnum > 0 AND NOT a.attisdropped)sql",
                                              {table_.schema, table_.table}));
  if (cols.rows() == 0) return Shape::kMissing;
  std::map<std::string, std::string> types;
  for (int i = 0; i < cols.rows(); ++i) types[cols.GetString(i, 0)] = cols.GetString(i, 1);
  if (types.count("version") && types.count("checksum") && types.count("success")) return Shape::kPgkeeper;
  if (types.size() == 2 && types["version"] == "bigint" && types.count("dirty") && types["dirty"] == "boolean") {
    return Shape::kGolangMigrate;
  }
  bool text_version =
      types.count("version") && (types["version"] == "text" || types["version"].rfind("character varying", 0) == 0);
  std::set<std::string> allowed = {"version", "applied_at", "inserted_at"};
  bool only_allowed = true;
  for (const auto& [name, type] : types) only_allowed = only_allowed && allowed.count(name);
  if (text_version && only_allowed) return Shape::kSimple;
  return Shape::kUnknown;
}

Status History::Create() {
  return conn_.Exec("CREATE TABLE IF NOT EXISTS " + table_.Quoted() +
                    " (version bigint PRIMARY KEY, name text NOT NULL DEFAULT '', checksum text NOT NULL DEFAULT '', "
                    "applied_at timestamptz NOT NULL DEFAULT now(), duration_ms bigint NOT NULL DEFAULT 0, "
                    "applied_by text NOT NULL DEFAULT current_user, applied_host text NOT NULL DEFAULT '', "
                    "success boolean NOT NULL DEFAULT true, no_transaction boolean NOT NULL DEFAULT false, "
                    "source text NOT NULL DEFAULT 'pgkeeper', error text); "
                    "COMMENT ON TABLE " +
                    table_.Quoted() + " IS 'pgkeeper migration history (format 1); see docs/commands/migrate.md'");
}

Status History::Ensure(const MigrationSet& files, std::vector<std::string>* notes) {
  PGK_ASSIGN_OR_RETURN(Shape shape, DetectShape());
  switch (shape) {
    case Shape::kPgkeeper:
      return Status::Ok();
    case Shape::kMissing: {
      PGK_RETURN_IF_ERROR(conn_.Exec("CREATE SCHEMA IF NOT EXISTS " + pg::QuoteIdent(table_.schema)));
      return Create();
    }
    case Shape::kGolangMigrate: {
      PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn_));
      PGK_RETURN_IF_ERROR(AdoptGolangMigrate(files, notes));
      return tx.Commit();
    }
    case Shape::kSimple: {
      PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn_));
      PGK_RETURN_IF_ERROR(AdoptSimple(files, notes));
      return tx.Commit();
    }
    case Shape::kUnknown:
      break;
  }
  return Status::Refused("table " + table_.Display() + " exists but is not a migration history table pgkeeper knows",
                         "name another table with --table (or migrations.table), or import it with "
                         "`pgkeeper migrate import --from flyway|dbmate`");
}

Status History::AdoptGolangMigrate(const MigrationSet& files, std::vector<std::string>* notes) {
  PGK_ASSIGN_OR_RETURN(auto rows, conn_.Query("SELECT version, dirty FROM " + table_.Quoted() + " FOR UPDATE"));
  if (rows.rows() > 1) {
    return Status::Refused("golang-migrate table " + table_.Display() + " has " + std::to_string(rows.rows()) +
                               " rows; golang-migrate keeps exactly one",
                           "repair it so that it holds only the current version");
  }
  std::string qt = table_.Quoted();
  if (rows.rows() == 0) {
    notes->push_back("found an empty golang-migrate table " + table_.Display() + "; upgraded it to pgkeeper's format");
    PGK_RETURN_IF_ERROR(conn_.Exec("ALTER TABLE " + qt + " " + kAddColumns));
    return conn_.Exec("ALTER TABLE " + qt + " DROP COLUMN dirty");
  }
  uint64_t current = static_cast<uint64_t>(rows.GetInt(0, 0));
  bool dirty = rows.GetBool(0, 1);
  PGK_RETURN_IF_ERROR(conn_.Exec("ALTER TABLE " + qt + " " + kAddColumns));
  const MigrationFile* cur = files.Find(current);
  PGK_ASSIGN_OR_RETURN(auto upd, conn_.Query("UPDATE " + qt +
                                                 " SET name = $2, checksum = $3, success = NOT dirty, source = "
                                                 "'golang-migrate', applied_host = 'unknown', error = CASE WHEN dirty "
                                                 "THEN 'marked dirty by golang-migrate' END WHERE version = $1",
                                             {std::to_string(current), cur ? cur->title : std::string("(not on disk)"),
                                              cur ? cur->checksum : std::string("")}));
  (void)upd;
  PGK_RETURN_IF_ERROR(conn_.Exec("ALTER TABLE " + qt + " DROP COLUMN dirty"));
  // golang-migrate records only the newest version: every file below it was applied too.
  std::vector<uint64_t> versions;
  for (const auto& f : files.files) {
    if (f.version >= current) break;
    versions.push_back(f.version);
    PGK_RETURN_IF_ERROR(Insert({.version = f.version, .name = f.title, .checksum = f.checksum,
                                .applied_host = "unknown", .success = true, .source = "golang-migrate"}));
  }
  if (versions.empty() || versions.back() != current) versions.push_back(current);
  notes->push_back("found a golang-migrate history table " + table_.Display() + " at version " +
                   std::to_string(current) + (dirty ? " (dirty)" : " (clean)") +
                   "; upgraded it in place to pgkeeper's format, recording " + std::to_string(versions.size()) +
                   " applied version(s): " + VersionList(versions));
  if (!cur) notes->push_back("version " + std::to_string(current) + " has no file in " + files.dir);
  return Status::Ok();
}

Status History::AdoptSimple(const MigrationSet& files, std::vector<std::string>* notes) {
  std::string qt = table_.Quoted();
  PGK_ASSIGN_OR_RETURN(auto rows, conn_.Query("SELECT version FROM " + qt + " ORDER BY version FOR UPDATE"));
  std::vector<uint64_t> versions;
  for (int i = 0; i < rows.rows(); ++i) {
    std::string v = rows.GetString(i, 0);
    size_t digits = 0;
    while (digits < v.size() && std::isdigit(static_cast<unsigned char>(v[digits]))) ++digits;
    if (digits == 0) {
      return Status::Refused(
          "history table " + table_.Display() + " holds version '" + v + "', which does not start with a number",
          "fix that row so that pgkeeper can adopt the table");
    }
    versions.push_back(std::stoull(v.substr(0, digits)));
  }
  // Keep the primary key on version while changing its type; the constraint follows.
  PGK_RETURN_IF_ERROR(conn_.Exec("ALTER TABLE " + qt +
                                 " ALTER COLUMN version TYPE bigint USING substring(version from '^[0-9]+')::bigint"));
  bool has_inserted_at = false;
  PGK_ASSIGN_OR_RETURN(auto cols, conn_.Query("SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = "
                                              "'inserted_at' AND NOT attisdropped",
                                              {qt}));
  has_inserted_at = cols.rows() > 0;
  PGK_RETURN_IF_ERROR(conn_.Exec("ALTER TABLE " + qt + " " + kAddColumns));
  if (has_inserted_at) {
    PGK_RETURN_IF_ERROR(conn_.Exec("UPDATE " + qt + " SET applied_at = inserted_at"));
    PGK_RETURN_IF_ERROR(conn_.Exec("ALTER TABLE " + qt + " DROP COLUMN inserted_at"));
  }
  // A simple table may have no primary key on version (dbmate's has one).
  PGK_ASSIGN_OR_RETURN(auto pk,
                       conn_.Query("SELECT 1 FROM pg_index WHERE indrelid = $1::regclass AND indisprimary", {qt}));
  if (pk.rows() == 0) PGK_RETURN_IF_ERROR(conn_.Exec("ALTER TABLE " + qt + " ADD PRIMARY KEY (version)"));
  int missing = 0;
  for (uint64_t v : versions) {
    const MigrationFile* f = files.Find(v);
    if (!f) ++missing;
    PGK_ASSIGN_OR_RETURN(auto upd, conn_.Query("UPDATE " + qt +
                                                   " SET name = $2, checksum = $3, source = 'simple' "
                                                   "WHERE version = $1",
                                               {std::to_string(v), f ? f->title : std::string("(not on disk)"),
                                                f ? f->checksum : std::string("")}));
    (void)upd;
  }
  notes->push_back("found a simple history table " + table_.Display() + " with " + std::to_string(versions.size()) +
                   " applied version(s): " + VersionList(versions) + "; upgraded it in place to pgkeeper's format");
  if (missing) notes->push_back(std::to_string(missing) + " of them have no file in " + files.dir);
  return Status::Ok();
}

Result<std::vector<AppliedMigration>> History::Load() {
  std::vector<AppliedMigration> out;
  PGK_ASSIGN_OR_RETURN(Shape shape, DetectShape());
  if (shape == Shape::kMissing) return out;
  if (shape != Shape::kPgkeeper) {
    return Status::Refused("history table " + table_.Display() + " is not in pgkeeper's format yet",
                           "run a writing command (e.g. `pgkeeper migrate up`) to adopt it");
  }
  PGK_ASSIGN_OR_RETURN(auto rows,
                       conn_.Query("SELECT version, name, checksum, to_char(applied_at AT TIME ZONE 'UTC', "
                                   "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), duration_ms, applied_by, applied_host, "
                                   "success, no_transaction, source, coalesce(error, '') FROM " +
                                   table_.Quoted() + " ORDER BY version"));
  for (int i = 0; i < rows.rows(); ++i) {
    out.push_back({.version = static_cast<uint64_t>(rows.GetInt(i, 0)),
                   .name = rows.GetString(i, 1),
                   .checksum = rows.GetString(i, 2),
                   .applied_at = rows.GetString(i, 3),
                   .duration_ms = rows.GetInt(i, 4),
                   .applied_by = rows.GetString(i, 5),
                   .applied_host = rows.GetString(i, 6),
                   .success = rows.GetBool(i, 7),
                   .no_transaction = rows.GetBool(i, 8),
                   .source = rows.GetString(i, 9),
                   .error = rows.GetString(i, 10)});
  }
  return out;
}

Status History::Insert(const AppliedMigration& r) {
  auto res = conn_.Query(
      "INSERT INTO " + table_.Quoted() + " (" + kColumns +
          ") VALUES ($1, $2, $3, coalesce($4::timestamptz, now()), $5, coalesce($6, current_user), $7, "
          "$8, $9, $10, $11)",
      {std::to_string(r.version), r.name, r.checksum, r.applied_at.empty() ? pg::Param() : pg::Param(r.applied_at),
       std::to_string(r.duration_ms), r.applied_by.empty() ? pg::Param() : pg::Param(r.applied_by),
       r.applied_host.empty() ? LocalHostName() : r.applied_host, r.success ? "true" : "false",
       r.no_transaction ? "true" : "false", r.source.empty() ? "pgkeeper" : r.source,
       r.error.empty() ? pg::Param() : pg::Param(r.error)});
  return res.ok() ? Status::Ok() : res.status();
}

Status History::MarkFinished(uint64_t version, bool success, int64_t duration_ms, const std::string& error) {
  auto res = conn_.Query("UPDATE " + table_.Quoted() +
                             " SET success = $2, duration_ms = $3, error = $4, applied_at = now() WHERE version = $1",
                         {std::to_string(version), success ? "true" : "false", std::to_string(duration_ms),
                          error.empty() ? pg::Param() : pg::Param(error)});
  return res.ok() ? Status::Ok() : res.status();
}

Status History::Delete(uint64_t version) {
  auto res = conn_.Query("DELETE FROM " + table_.Quoted() + " WHERE version = $1", {std::to_string(version)});
  return res.ok() ? Status::Ok() : res.status();
}

Status History::DeleteAbove(uint64_t version) {
  auto res = conn_.Query("DELETE FROM " + table_.Quoted() + " WHERE version > $1", {std::to_string(version)});
  return res.ok() ? Status::Ok() : res.status();
}

}  // namespace pgk::migrate
