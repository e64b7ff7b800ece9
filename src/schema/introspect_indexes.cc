// Indexes (of tables and materialized views), triggers and row-level security policies.
#include <string_view>

#include "schema/introspect.h"

namespace pgk::schema::introspect_internal {

namespace {

// Index.constraint: only the constraint kinds an index implements; a foreign key's
// conindid points at the referenced table's index, which is not the FK's own.
// Index.inherited: a partition's index attached to its parent's index has that index as
// its pg_inherits parent.
constexpr char kIndexesSql[] = R"sql(
SELECT i.indrelid, ic.relname, pg_get_indexdef(i.indexrelid), am.amname, i.indisunique, i.indnullsnotdistinct,
       i.indnkeyatts,
       (SELECT json_agg(a.attname ORDER BY k.n)
          FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE k.n > i.indnkeyatts),
       pg_get_expr(i.indpred, i.indrelid), co.conname,
       EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid), d.description
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_am am ON am.oid = ic.relam
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_constraint co ON co.conindid = i.indexrelid AND co.conrelid = i.indrelid
   AND co.contype IN ('p', 'u', 'x')
  LEFT JOIN pg_description d ON d.classoid = 'pg_catalog.pg_class'::regclass AND d.objoid = i.indexrelid
   AND d.objsubid = 0
 WHERE c.relkind IN ('r', 'p', 'm') AND )sql";

// Internal triggers implement foreign keys and deferred unique checks: they are part of
// those constraints. Clones on partitions (tgparentid) are kept, marked inherited.
constexpr char kTriggersSql[] = R"sql(
SELECT t.tgrelid, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled, t.tgparentid <> 0, d.description
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_description d ON d.classoid = 'pg_catalog.pg_trigger'::regclass AND d.objoid = t.oid
   AND d.objsubid = 0
 WHERE NOT t.tgisinternal AND )sql";

constexpr char kPoliciesSql[] = R"sql(
SELECT p.polrelid, p.polname, p.polcmd, p.polpermissive,
       (SELECT json_agg(CASE WHEN r.oid = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r.oid)::text END)
          FROM unnest(p.polroles) r(oid)),
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid), d.description
  FROM pg_policy p
  JOIN pg_class c ON c.oid = p.polrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_description d ON d.classoid = 'pg_catalog.pg_policy'::regclass AND d.objoid = p.oid
   AND d.objsubid = 0
 WHERE )sql";

// The key columns of pg_get_indexdef's "... USING method (k1, k2) INCLUDE (...) ...":
// each key exactly as PostgreSQL prints it, with collation, operator class and ordering
// when they are not the defaults (the per-column form of pg_get_indexdef omits those).
// The first parenthesis outside double quotes opens the key list: only the index and
// table names, both identifiers, come before it.
Result<std::vector<std::string>> IndexKeys(std::string_view def, int nkeys) {
  std::vector<std::string> keys;
  size_t i = 0;
  bool in_ident = false;
  for (; i < def.size(); ++i) {
    if (def[i] == '"') in_ident = !in_ident;
    if (def[i] == '(' && !in_ident) break;
  }
  int depth = 0;
  bool in_string = false;
  std::string cur;
  for (++i; i < def.size(); ++i) {
    char ch = def[i];
    // A doubled quote inside a string or identifier toggles twice: no special case.
    if (!in_string && ch == '"') in_ident = !in_ident;
    if (!in_ident && ch == '\'') in_string = !in_string;
    bool quoted = in_ident || in_string;
    if (!quoted && ch == '(') ++depth;
    if (!quoted && ch == ')' && depth-- == 0) {
      keys.push_back(cur);
      break;
    }
    if (!quoted && ch == ',' && depth == 0) {
      keys.push_back(cur);
      cur.clear();
      if (i + 1 < def.size() && def[i + 1] == ' ') ++i;  // PostgreSQL separates keys with ", "
      continue;
    }
    cur += ch;
  }
  if (static_cast<int>(keys.size()) != nkeys) {
    return Status::Internal("cannot read the key columns of index definition: " + std::string(def));
  }
  return keys;
}

std::string TriggerEnabled(std::string_view c) {
  if (c == "D") return "disabled";
  if (c == "R") return "replica";
  if (c == "A") return "always";
  return "origin";
}

std::string PolicyCommand(std::string_view c) {
  if (c == "r") return "SELECT";
  if (c == "a") return "INSERT";
  if (c == "w") return "UPDATE";
  if (c == "d") return "DELETE";
  return "ALL";
}

}  // namespace

Status ReadIndexes(pg::Connection& conn, Snapshot& s, const Oids& oids) {
  PGK_ASSIGN_OR_RETURN(auto res, CatalogQuery(conn, std::string(kIndexesSql) + kUserSchema, "indexes"));
  for (int r = 0; r < res.rows(); ++r) {
    int64_t rel = res.GetInt(r, 0);
    auto t = oids.tables.find(rel);
    auto v = oids.views.find(rel);
    if (t == oids.tables.end() && v == oids.views.end()) continue;
    Index x{.name = res.GetString(r, 1), .definition = res.GetString(r, 2), .method = res.GetString(r, 3)};
    x.unique = res.GetBool(r, 4);
    x.nulls_not_distinct = res.GetBool(r, 5);
    PGK_ASSIGN_OR_RETURN(x.keys, IndexKeys(x.definition, static_cast<int>(res.GetInt(r, 6))));
    PGK_ASSIGN_OR_RETURN(x.include, JsonStrings(res, r, 7));
    x.predicate = res.GetOpt(r, 8);
    if (!res.IsNull(r, 9)) x.constraint = res.GetString(r, 9);
    x.inherited = res.GetBool(r, 10);
    x.comment = res.GetOpt(r, 11);
    if (t != oids.tables.end()) {
      s.tables[t->second].indexes.push_back(std::move(x));
    } else {
      s.views[v->second].indexes.push_back(std::move(x));
    }
  }
  return Status::Ok();
}

Status ReadTriggersAndPolicies(pg::Connection& conn, Snapshot& s, const Oids& oids) {
  PGK_ASSIGN_OR_RETURN(auto res, CatalogQuery(conn, std::string(kTriggersSql) + kUserSchema, "triggers"));
  for (int r = 0; r < res.rows(); ++r) {
    int64_t rel = res.GetInt(r, 0);
    auto t = oids.tables.find(rel);
    if (t == oids.tables.end()) {
      // INSTEAD OF triggers on views have no place in the model: counted, not compared.
      if (oids.views.count(rel)) ++s.not_compared["view triggers"];
      continue;
    }
    s.tables[t->second].triggers.push_back({.name = res.GetString(r, 1),
                                            .definition = res.GetString(r, 2),
                                            .enabled = TriggerEnabled(res.Get(r, 3)),
                                            .inherited = res.GetBool(r, 4),
                                            .comment = res.GetOpt(r, 5)});
  }

  PGK_ASSIGN_OR_RETURN(res, CatalogQuery(conn, std::string(kPoliciesSql) + kUserSchema, "policies"));
  for (int r = 0; r < res.rows(); ++r) {
    auto t = oids.tables.find(res.GetInt(r, 0));
    if (t == oids.tables.end()) continue;
    Policy p{.name = res.GetString(r, 1), .command = PolicyCommand(res.Get(r, 2)), .permissive = res.GetBool(r, 3)};
    PGK_ASSIGN_OR_RETURN(p.roles, JsonStrings(res, r, 4));
    p.using_expr = res.GetOpt(r, 5);
    p.check_expr = res.GetOpt(r, 6);
    p.comment = res.GetOpt(r, 7);
    s.tables[t->second].policies.push_back(std::move(p));
  }
  return Status::Ok();
}

}  // namespace pgk::schema::introspect_internal
