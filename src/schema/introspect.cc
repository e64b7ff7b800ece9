#include "schema/introspect.h"

#include <nlohmann/json.hpp>

namespace pgk::schema {

namespace introspect_internal {

// pg_toast_temp_N and pg_temp_N are covered by the prefixes; user schemas cannot start
// with "pg_" (PostgreSQL reserves the prefix), so the pattern cannot hide one.
const char kUserSchema[] =
    "(n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_(toast|temp)')";

std::string NotInExtension(const std::string& catalog, const std::string& oid_expr) {
  return "NOT EXISTS (SELECT 1 FROM pg_depend ext WHERE ext.classid = 'pg_catalog." + catalog +
         "'::regclass AND ext.objid = " + oid_expr + " AND ext.deptype = 'e')";
}

Result<pg::QueryResult> CatalogQuery(pg::Connection& conn, const std::string& sql, const std::string& what) {
  auto res = conn.Query(sql);
  if (!res.ok()) return res.status().WithContext("reading " + what);
  return res;
}

namespace {

// Parses a JSON column; the JSON library's exceptions stay inside this module.
Result<nlohmann::json> ParseJson(const pg::QueryResult& res, int row, int col) {
  if (res.IsNull(row, col)) return nlohmann::json::array();
  auto j = nlohmann::json::parse(res.Get(row, col), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array()) {
    return Status::Internal("unexpected catalog value in column " + res.ColName(col) + ": " + res.GetString(row, col));
  }
  return j;
}

}  // namespace

Result<std::vector<std::string>> JsonStrings(const pg::QueryResult& res, int row, int col) {
  PGK_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(res, row, col));
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) return Status::Internal("unexpected non-text element in column " + res.ColName(col));
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<std::vector<std::string>> JsonQualifiedNames(const pg::QueryResult& res, int row, int col) {
  PGK_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(res, row, col));
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_string()) {
      return Status::Internal("unexpected name pair in column " + res.ColName(col));
    }
    out.push_back(Qualified(e[0].get<std::string>(), e[1].get<std::string>()));
  }
  return out;
}

std::string CollationName(const std::string& schema, const std::string& name) {
  return schema == "pg_catalog" ? QuoteIdentIfNeeded(name) : Qualified(schema, name);
}

}  // namespace introspect_internal

namespace {

// The catalog's rendering functions print names and constants through these settings:
// an empty search_path makes every user object come out schema-qualified (as pg_dump
// does), and the rest fix how constants in defaults, partition bounds and expressions are
// printed (a timestamptz bound would otherwise follow the session's TimeZone).
constexpr char kPinRendering[] =
    "SELECT set_config('search_path', '', true), set_config('TimeZone', 'UTC', true), "
    "set_config('DateStyle', 'ISO, YMD', true), set_config('IntervalStyle', 'postgres', true), "
    "set_config('extra_float_digits', '1', true), set_config('bytea_output', 'hex', true), "
    "set_config('standard_conforming_strings', 'on', true), set_config('lc_monetary', 'C', true)";

}  // namespace

Result<Snapshot> Introspect(pg::Connection& conn) {
  if (conn.in_transaction()) {
    return Status::Internal("schema introspection must start outside a transaction",
                            "commit or roll back the open transaction first");
  }
  PGK_ASSIGN_OR_RETURN(auto tx, pg::Transaction::Begin(conn, "ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  PGK_ASSIGN_OR_RETURN(Snapshot s, IntrospectInTransaction(conn));
  PGK_RETURN_IF_ERROR(tx.Commit());
  return s;
}

Result<Snapshot> IntrospectInTransaction(pg::Connection& conn) {
  using namespace introspect_internal;
  if (!conn.in_transaction()) {
    return Status::Internal("IntrospectInTransaction needs an open REPEATABLE READ transaction");
  }
  PGK_RETURN_IF_ERROR(conn.Query(kPinRendering).status());  // set_config(..., true): this transaction only

  Snapshot s;
  Oids oids;
  // Objects first (they fill `oids`), then what hangs off them.
  PGK_RETURN_IF_ERROR(ReadSchemasAndExtensions(conn, s, oids));
  PGK_RETURN_IF_ERROR(ReadTypes(conn, s, oids));
  PGK_RETURN_IF_ERROR(ReadSequences(conn, s, oids));
  PGK_RETURN_IF_ERROR(ReadRelations(conn, s, oids));
  PGK_RETURN_IF_ERROR(ReadFunctions(conn, s, oids));
  PGK_RETURN_IF_ERROR(ReadColumns(conn, s, oids));
  PGK_RETURN_IF_ERROR(ReadConstraints(conn, s, oids));
  PGK_RETURN_IF_ERROR(ReadIndexes(conn, s, oids));
  PGK_RETURN_IF_ERROR(ReadTriggersAndPolicies(conn, s, oids));
  PGK_RETURN_IF_ERROR(ReadGrants(conn, s, oids));
  PGK_RETURN_IF_ERROR(ReadNotCompared(conn, s));
  Canonicalize(s);
  return s;
}

}  // namespace pgk::schema
