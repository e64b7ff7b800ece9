// `migrate import --from flyway|dbmate`: brings another tool's history into pgkeeper's
// table. The source table is left untouched (drop it yourself once you are happy).
#include <algorithm>

#include "migrate/lock.h"
#include "migrate/runner.h"

namespace pgk::migrate {

namespace {

bool ParseIntegerVersion(const std::string& text, uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  *out = std::stoull(text);
  return true;
}

}  // namespace

Result<RunResult> Runner::Import(const std::string& from, const std::string& from_table_text) {
  if (from != "flyway" && from != "dbmate") {
    return Status::InvalidArgument("unknown source '" + from + "'", "use --from flyway or --from dbmate");
  }
  std::string default_table = from == "flyway" ? "flyway_schema_history" : "public.schema_migrations";
  PGK_ASSIGN_OR_RETURN(TableName source, ParseTableName(from_table_text.empty() ? default_table : from_table_text));
  PGK_ASSIGN_OR_RETURN(auto lock, MigrationLock::Acquire(conn_, options_.table, options_.lock_wait_s));
  RunResult result;
  bool same_table = source.schema == options_.table.schema && source.table == options_.table.table;

  if (!same_table) {
    PGK_ASSIGN_OR_RETURN(auto exists, conn_.QueryValue("SELECT to_regclass($1) IS NOT NULL", {source.Quoted()}));
    if (exists != "t") {
      return Status::NotFound(from + " history table " + source.Display() + " not found",
                              "name it with --from-table (schema.table)");
    }
  }
  PGK_RETURN_IF_ERROR(history_.Ensure(files_, &result.notes));
  if (same_table) {
    // dbmate's table has pgkeeper's default name: Ensure() upgraded it in place.
    result.notes.push_back("imported the dbmate history in place (" + source.Display() + ")");
    return result;
  }
  PGK_ASSIGN_OR_RETURN(auto existing, history_.Load());
  if (!existing.empty()) {
    return Status::Refused(options_.table.Display() + " already records " + std::to_string(existing.size()) +
                               " migrations; import only into an empty history",
                           "import into another table with --table, or clear this one first");
  }

  std::vector<AppliedMigration> rows;
  std::vector<std::string> problems;
  if (from == "flyway") {
    PGK_ASSIGN_OR_RETURN(auto r, conn_.Query("SELECT version, coalesce(description, ''), type, checksum, "
                                             "coalesce(installed_by, ''), installed_on::timestamptz::text, "
                                             "coalesce(execution_time, 0), success FROM " +
                                             source.Quoted() + " WHERE version IS NOT NULL ORDER BY installed_rank"));
    for (int i = 0; i < r.rows(); ++i) {
      std::string version_text = r.GetString(i, 0);
      std::string type = r.GetString(i, 2);
      uint64_t version = 0;
      if (!ParseIntegerVersion(version_text, &version)) {
        problems.push_back("version " + version_text + " is not an integer");
        continue;
      }
      if (type == "UNDO_SQL" || type == "DELETE") {
        rows.erase(std::remove_if(rows.begin(), rows.end(), [&](const auto& x) { return x.version == version; }),
                   rows.end());
        continue;
      }
      std::string description = r.GetString(i, 1);
      std::replace(description.begin(), description.end(), ' ', '_');
      AppliedMigration m{.version = version,
                         .name = description,
                         .checksum = r.IsNull(i, 3) || type == "BASELINE" ? "" : "flyway-crc32:" + r.GetString(i, 3),
                         .applied_at = r.GetString(i, 5),
                         .duration_ms = r.GetInt(i, 6),
                         .applied_by = r.GetString(i, 4),
                         .applied_host = "unknown",
                         .success = r.GetBool(i, 7),
                         .source = type == "BASELINE" ? "flyway-baseline" : "flyway"};
      if (!m.success) m.error = "failed under Flyway";
      rows.push_back(m);
    }
  } else {
    PGK_ASSIGN_OR_RETURN(auto r, conn_.Query("SELECT version::text FROM " + source.Quoted() + " ORDER BY 1"));
    for (int i = 0; i < r.rows(); ++i) {
      uint64_t version = 0;
      if (!ParseIntegerVersion(r.GetString(i, 0), &version)) {
        problems.push_back("version " + r.GetString(i, 0) + " is not an integer");
        continue;
      }
      const MigrationFile* f = files_.Find(version);
      rows.push_back({.version = version,
                      .name = f ? f->title : "",
                      .checksum = f ? f->checksum : "",
                      .applied_host = "unknown",
                      .success = true,
                      .source = "dbmate"});
    }
  }
  if (!problems.empty()) {
    std::string msg = "cannot import " + source.Display() + ":";
    for (const auto& p : problems) msg += "\n  " + p;
    return Status::Malformed(msg, "pgkeeper versions are unsigned integers; renumber those migrations first");
  }
  PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn_));
  for (const auto& m : rows) PGK_RETURN_IF_ERROR(history_.Insert(m));
  PGK_RETURN_IF_ERROR(tx.Commit());
  int missing = 0;
  for (const auto& m : rows) missing += files_.Find(m.version) == nullptr;
  result.notes.push_back("imported " + std::to_string(rows.size()) + " " + from + " migration(s) from " +
                         source.Display() + " into " + options_.table.Display() +
                         (missing ? " (" + std::to_string(missing) + " without a file in " + files_.dir + ")" : ""));
  return result;
}

}  // namespace pgk::migrate
