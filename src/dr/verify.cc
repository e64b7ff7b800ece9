#include "dr/verify.h"

#include <algorithm>

#include "migrate/history.h"
#include "pg/connection.h"
#include "pg/quote.h"

namespace pgk::dr {

namespace {

std::string Qualified(const std::string& table) {
  // Manifest names are "schema.table" as pg_dump prints them; quote each part unless the
  // name is already quoted.
  if (table.find('"') != std::string::npos) return table;
  auto dot = table.find('.');
  if (dot == std::string::npos) return pg::QuoteQualified("public", table);
  return pg::QuoteQualified(table.substr(0, dot), table.substr(dot + 1));
}

Check RowCounts(pg::Connection& conn, const std::map<std::string, int64_t>& expected) {
  Check c{.name = "row counts"};
  if (expected.empty()) {
    c.skipped = true;
    c.ok = true;
    c.detail = "the backup records no row counts (physical backups do not)";
    return c;
  }
  int64_t rows = 0;
  std::vector<std::string> differ;
  for (const auto& [table, want] : expected) {
    auto got = conn.QueryValue("SELECT count(*) FROM ONLY " + Qualified(table));
    if (!got.ok()) {
      differ.push_back(table + " missing");
      continue;
    }
    int64_t n = std::stoll(*got);
    rows += n;
    if (n != want) differ.push_back(table + " " + std::to_string(n) + " (backup: " + std::to_string(want) + ")");
  }
  c.ok = differ.empty();
  if (c.ok) {
    c.detail = std::to_string(expected.size()) + " tables, " + std::to_string(rows) + " rows, all match the manifest";
  } else {
    std::string list;
    for (const auto& d : differ) list += (list.empty() ? "" : ", ") + d;
    c.detail = std::to_string(differ.size()) + " of " + std::to_string(expected.size()) + " tables differ: " + list;
  }
  return c;
}

Check Migrations(pg::Connection& conn, const VerifyInput& in) {
  Check c{.name = "migrations"};
  auto table = migrate::ParseTableName(in.migrations_table);
  if (!table.ok()) {
    c.detail = table.status().message();
    return c;
  }
  migrate::History history(conn, *table);
  auto shape = history.DetectShape();
  if (shape.ok() && *shape == migrate::Shape::kMissing) {
    c.ok = !in.migration_version.has_value();
    c.skipped = c.ok;
    c.detail = c.ok ? "no migration history table"
                    : "the migration history table is missing, the backup had version " +
                          std::to_string(*in.migration_version);
    return c;
  }
  auto rows = history.Load();
  if (!rows.ok()) {
    c.detail = "cannot read the migration history: " + rows.status().message();
    return c;
  }
  uint64_t version = 0;
  bool dirty = false;
  for (const auto& r : *rows) {
    version = std::max(version, r.version);
    if (!r.success) dirty = true;
  }
  c.ok = !dirty && (!in.migration_version || *in.migration_version == version);
  c.detail = "at version " + std::to_string(version) + (dirty ? ", dirty" : ", clean");
  if (in.migration_version && *in.migration_version != version) {
    c.detail += " (the backup recorded version " + std::to_string(*in.migration_version) + ")";
  }
  return c;
}

}  // namespace

std::vector<Check> VerifyRestored(const VerifyInput& in) {
  std::vector<Check> out;
  auto conn = pg::Connection::Connect(in.conninfo, {.application_name = "pgkeeper-dr"});
  if (!conn.ok()) {
    out.push_back({.name = "connect", .ok = false, .detail = conn.status().message()});
    return out;
  }
  auto version = conn->QueryValue("SELECT current_setting('server_version')");
  out.push_back({.name = "connect",
                 .ok = true,
                 .detail = conn->display() + ", PostgreSQL " + (version.ok() ? *version : std::string("?"))});
  out.push_back(RowCounts(*conn, in.row_counts));
  out.push_back(Migrations(*conn, in));
  return out;
}

bool AllPassed(const std::vector<Check>& checks) {
  for (const auto& c : checks) {
    if (!c.ok) return false;
  }
  return true;
}

}  // namespace pgk::dr
