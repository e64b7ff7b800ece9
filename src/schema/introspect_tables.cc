// Tables, views and materialized views, their columns and constraints. Each query
// returns the rows for every relation at once; rows are attached through Oids.
#include "schema/introspect.h"

namespace pgk::schema::introspect_internal {

namespace {

// A partition has exactly one pg_inherits row (its parent); any other table's rows are
// classic inheritance parents, in declaration order (inhseqno). depends_on comes from
// the view's _RETURN rule: every relation the query reads has a normal dependency on it.
constexpr char kRelationsSql[] = R"sql(
SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence = 'u', c.relispartition,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
       (SELECT json_agg(json_build_array(pn.nspname, p.relname) ORDER BY i.inhseqno)
          FROM pg_inherits i
          JOIN pg_class p ON p.oid = i.inhparent
          JOIN pg_namespace pn ON pn.oid = p.relnamespace
         WHERE i.inhrelid = c.oid),
       c.relrowsecurity, c.relforcerowsecurity, array_to_json(c.reloptions), d.description,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END, c.relispopulated,
       CASE WHEN c.relkind IN ('v', 'm') THEN
         (SELECT json_agg(json_build_array(x.nspname, x.relname))
            FROM (SELECT DISTINCT rn.nspname, rc.relname
                    FROM pg_rewrite rw
                    JOIN pg_depend dep ON dep.classid = 'pg_catalog.pg_rewrite'::regclass AND dep.objid = rw.oid
                     AND dep.refclassid = 'pg_catalog.pg_class'::regclass AND dep.refobjid <> c.oid
                    JOIN pg_class rc ON rc.oid = dep.refobjid
                    JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                   WHERE rw.ev_class = c.oid AND rw.rulename = '_RETURN') x) END
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_description d ON d.classoid = 'pg_catalog.pg_class'::regclass AND d.objoid = c.oid AND d.objsubid = 0
 WHERE c.relkind IN ('r', 'p', 'v', 'm') AND )sql";

// The collation is reported only when it is not the type's own default, which is what
// an explicit COLLATE clause changes. Identity columns have no pg_attrdef row; a stored
// generated column's expression is its pg_attrdef row.
constexpr char kColumnsSql[] = R"sql(
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
       a.attgenerated, pg_get_expr(ad.adbin, ad.adrelid), cn.nspname, co.collname, d.description
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> t.typcollation
  LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
  LEFT JOIN pg_description d ON d.classoid = 'pg_catalog.pg_class'::regclass AND d.objoid = a.attrelid
   AND d.objsubid = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'c') AND )sql";

// Constraint triggers ('t') are reported as triggers; NOT NULL is Column::not_null.
// Exclusion constraints over expressions have 0 in conkey: the expression comes from
// the index that implements the constraint.
constexpr char kConstraintsSql[] = R"sql(
SELECT co.conrelid, co.conname, co.contype, pg_get_constraintdef(co.oid),
       (SELECT json_agg(CASE WHEN k.attnum = 0 THEN pg_get_indexdef(co.conindid, k.n::int, true)
                             ELSE a.attname::text END ORDER BY k.n)
          FROM unnest(co.conkey) WITH ORDINALITY k(attnum, n)
          LEFT JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.attnum),
       fn.nspname, fc.relname,
       (SELECT json_agg(a.attname ORDER BY k.n)
          FROM unnest(co.confkey) WITH ORDINALITY k(attnum, n)
          JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.attnum),
       co.confupdtype, co.confdeltype, co.confmatchtype, co.condeferrable, co.condeferred, co.convalidated,
       co.connoinherit, co.conislocal, d.description
  FROM pg_constraint co
  JOIN pg_class c ON c.oid = co.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class fc ON fc.oid = co.confrelid
  LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
  LEFT JOIN pg_description d ON d.classoid = 'pg_catalog.pg_constraint'::regclass AND d.objoid = co.oid
   AND d.objsubid = 0
 WHERE co.contype IN ('p', 'u', 'f', 'c', 'x') AND )sql";

std::string ConstraintKind(char c) {
  if (c == 'p') return "primary key";
  if (c == 'u') return "unique";
  if (c == 'f') return "foreign key";
  if (c == 'x') return "exclusion";
  return "check";
}

std::string FkAction(std::string_view c) {
  if (c == "r") return "restrict";
  if (c == "c") return "cascade";
  if (c == "n") return "set null";
  if (c == "d") return "set default";
  return "no action";
}

std::string FkMatch(std::string_view c) {
  if (c == "f") return "full";
  if (c == "p") return "partial";
  return "simple";
}

}  // namespace

Status ReadRelations(pg::Connection& conn, Snapshot& s, Oids& oids) {
  std::string sql = std::string(kRelationsSql) + kUserSchema + " AND " + NotInExtension("pg_class", "c.oid");
  PGK_ASSIGN_OR_RETURN(auto res, CatalogQuery(conn, sql, "tables and views"));
  for (int r = 0; r < res.rows(); ++r) {
    std::string kind = res.GetString(r, 3);
    PGK_ASSIGN_OR_RETURN(auto options, JsonStrings(res, r, 11));
    if (kind == "v" || kind == "m") {
      oids.views[res.GetInt(r, 0)] = s.views.size();
      View v{.schema = res.GetString(r, 1), .name = res.GetString(r, 2), .materialized = kind == "m"};
      v.definition = res.GetString(r, 13);
      v.options = std::move(options);
      PGK_ASSIGN_OR_RETURN(v.depends_on, JsonQualifiedNames(res, r, 15));
      v.with_data = kind == "v" || res.GetBool(r, 14);
      v.comment = res.GetOpt(r, 12);
      s.views.push_back(std::move(v));
      continue;
    }
    oids.tables[res.GetInt(r, 0)] = s.tables.size();
    Table t{.schema = res.GetString(r, 1), .name = res.GetString(r, 2)};
    t.kind = kind == "p" ? "partitioned table" : "table";
    t.unlogged = res.GetBool(r, 4);
    t.partition_key = res.GetOpt(r, 6);
    PGK_ASSIGN_OR_RETURN(auto parents, JsonQualifiedNames(res, r, 8));
    if (res.GetBool(r, 5) && !parents.empty()) {
      t.partition_of = parents.front();
      t.partition_bound = res.GetOpt(r, 7);
    } else {
      t.inherits = std::move(parents);
    }
    t.rls_enabled = res.GetBool(r, 9);
    t.rls_forced = res.GetBool(r, 10);
    t.options = std::move(options);
    t.comment = res.GetOpt(r, 12);
    s.tables.push_back(std::move(t));
  }
  return Status::Ok();
}

Status ReadColumns(pg::Connection& conn, Snapshot& s, const Oids& oids) {
  // Filtering by `oids` instead of in SQL: rows of relations that were left out
  // (extension members, composite types of extensions) find no entry and are skipped.
  std::string sql = std::string(kColumnsSql) + kUserSchema + " ORDER BY a.attrelid, a.attnum";
  PGK_ASSIGN_OR_RETURN(auto res, CatalogQuery(conn, sql, "columns"));
  for (int r = 0; r < res.rows(); ++r) {
    int64_t rel = res.GetInt(r, 0);
    std::optional<std::string> collation;
    if (!res.IsNull(r, 8)) collation = CollationName(res.GetString(r, 7), res.GetString(r, 8));
    if (auto v = oids.views.find(rel); v != oids.views.end()) {
      s.views[v->second].columns.push_back(res.GetString(r, 1));
      continue;
    }
    if (auto c = oids.composites.find(rel); c != oids.composites.end()) {
      s.composites[c->second].attributes.push_back(
          {.name = res.GetString(r, 1), .type = res.GetString(r, 2), .collation = collation});
      continue;
    }
    auto t = oids.tables.find(rel);
    if (t == oids.tables.end()) continue;
    Column col{.name = res.GetString(r, 1), .type = res.GetString(r, 2), .not_null = res.GetBool(r, 3)};
    std::string identity = res.GetString(r, 4);
    if (identity == "a") col.identity = "always";
    if (identity == "d") col.identity = "by default";
    if (res.GetString(r, 5) == "s") {
      col.generated = res.GetOpt(r, 6);
    } else if (col.identity.empty()) {
      col.default_expr = res.GetOpt(r, 6);
    }
    col.collation = std::move(collation);
    col.comment = res.GetOpt(r, 9);
    s.tables[t->second].columns.push_back(std::move(col));
  }
  return Status::Ok();
}

Status ReadConstraints(pg::Connection& conn, Snapshot& s, const Oids& oids) {
  std::string sql = std::string(kConstraintsSql) + kUserSchema;
  PGK_ASSIGN_OR_RETURN(auto res, CatalogQuery(conn, sql, "constraints"));
  for (int r = 0; r < res.rows(); ++r) {
    auto t = oids.tables.find(res.GetInt(r, 0));
    if (t == oids.tables.end()) continue;
    char kind = res.Get(r, 2).empty() ? 'c' : res.Get(r, 2)[0];
    Constraint c{.name = res.GetString(r, 1), .kind = ConstraintKind(kind), .definition = res.GetString(r, 3)};
    PGK_ASSIGN_OR_RETURN(c.columns, JsonStrings(res, r, 4));
    if (kind == 'f') {
      c.ref_table = Qualified(res.GetString(r, 5), res.GetString(r, 6));
      PGK_ASSIGN_OR_RETURN(c.ref_columns, JsonStrings(res, r, 7));
      c.on_update = FkAction(res.Get(r, 8));
      c.on_delete = FkAction(res.Get(r, 9));
      c.match = FkMatch(res.Get(r, 10));
    }
    c.deferrable = res.GetBool(r, 11);
    c.initially_deferred = res.GetBool(r, 12);
    c.validated = res.GetBool(r, 13);
    // NO INHERIT is a CHECK clause; PostgreSQL also sets connoinherit on index-backed and
    // foreign-key constraints of plain tables, where it means nothing a user wrote.
    c.no_inherit = kind == 'c' && res.GetBool(r, 14);
    c.inherited = !res.GetBool(r, 15);
    c.comment = res.GetOpt(r, 16);
    s.tables[t->second].constraints.push_back(std::move(c));
  }
  return Status::Ok();
}

}  // namespace pgk::schema::introspect_internal
