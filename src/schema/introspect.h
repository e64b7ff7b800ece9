// Introspection: reads a live database's schema from pg_catalog into the model (model.h).
//
// A caller may rely on:
//   - one consistent picture: every query runs in one REPEATABLE READ READ ONLY
//     transaction, so concurrent DDL is either wholly in the snapshot or not at all;
//   - stable text: the transaction pins search_path to '' (user objects come out
//     schema-qualified, pg_catalog ones not), TimeZone to UTC, DateStyle to ISO and the
//     other settings that change how constants are printed, so the same schema gives the
//     same snapshot whatever the session or server defaults are;
//   - a fixed number of catalog queries, whatever the number of objects (each returns the
//     rows of one kind for all objects at once), so large schemas stay fast;
//   - the result is canonical (Canonicalize() has run).
// The connection must not be inside a transaction; it is left idle afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"
#include "schema/model.h"

namespace pgk::schema {

// Reads the schema of the connected database in one REPEATABLE READ READ ONLY snapshot.
Result<Snapshot> Introspect(pg::Connection& conn);
// The same inside the caller's open REPEATABLE READ transaction, e.g. one that imported a
// backup's exported snapshot, so the schema is the one the backup's data belongs to.
Result<Snapshot> IntrospectInTransaction(pg::Connection& conn);

// The pieces Introspect() is made of, one per catalog area and source file
// (introspect_*.cc). Not for callers: they assume the transaction and settings that
// Introspect() sets up, and must run in the order listed.
namespace introspect_internal {

// Where each object landed in the Snapshot's vectors, by catalog OID, so that later
// queries (columns, constraints, grants, ...) attach their rows to the right object.
// OIDs never leave introspection: the model has none.
struct Oids {
  std::unordered_map<int64_t, size_t> schemas;     // pg_namespace
  std::unordered_map<int64_t, size_t> tables;      // pg_class, relkind r/p
  std::unordered_map<int64_t, size_t> views;       // pg_class, relkind v/m
  std::unordered_map<int64_t, size_t> sequences;   // pg_class, relkind S
  std::unordered_map<int64_t, size_t> composites;  // pg_class of the type, relkind c
  std::unordered_map<int64_t, size_t> domains;     // pg_type
  std::unordered_map<int64_t, size_t> functions;   // pg_proc
};

// introspect_types.cc
Status ReadSchemasAndExtensions(pg::Connection& conn, Snapshot& s, Oids& oids);
Status ReadTypes(pg::Connection& conn, Snapshot& s, Oids& oids);  // enums, domains, composites
Status ReadSequences(pg::Connection& conn, Snapshot& s, Oids& oids);
// introspect_tables.cc: tables, views and their columns (and composites' attributes).
Status ReadRelations(pg::Connection& conn, Snapshot& s, Oids& oids);
Status ReadColumns(pg::Connection& conn, Snapshot& s, const Oids& oids);
Status ReadConstraints(pg::Connection& conn, Snapshot& s, const Oids& oids);
// introspect_indexes.cc
Status ReadIndexes(pg::Connection& conn, Snapshot& s, const Oids& oids);
Status ReadTriggersAndPolicies(pg::Connection& conn, Snapshot& s, const Oids& oids);
// introspect_routines.cc
Status ReadFunctions(pg::Connection& conn, Snapshot& s, Oids& oids);
// introspect_grants.cc
Status ReadGrants(pg::Connection& conn, Snapshot& s, const Oids& oids);
// introspect_not_compared.cc
Status ReadNotCompared(pg::Connection& conn, Snapshot& s);

// Shared helpers (introspect.cc).

// Runs one catalog query; a failure says what was being read ("reading <what>: ...").
Result<pg::QueryResult> CatalogQuery(pg::Connection& conn, const std::string& sql, const std::string& what);

// SQL condition: the namespace aliased `n` is not a system schema.
extern const char kUserSchema[];
// SQL condition: the object `oid_expr` of catalog `catalog` (e.g. "pg_class") is not a
// member of an extension.
std::string NotInExtension(const std::string& catalog, const std::string& oid_expr);
// A json_agg()/array_to_json() column as strings; NULL (no rows) is an empty list.
Result<std::vector<std::string>> JsonStrings(const pg::QueryResult& res, int row, int col);
// A json_agg(json_build_array(schema, name)) column as Qualified() names.
Result<std::vector<std::string>> JsonQualifiedNames(const pg::QueryResult& res, int row, int col);
// A collation as PostgreSQL prints it with an empty search_path: bare (quoted when
// needed) for pg_catalog's, schema-qualified otherwise.
std::string CollationName(const std::string& schema, const std::string& name);

}  // namespace introspect_internal

}  // namespace pgk::schema
