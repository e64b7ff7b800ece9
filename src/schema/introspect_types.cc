// Schemas, extensions, enums, domains, composite types and sequences.
#include "schema/introspect.h"

namespace pgk::schema::introspect_internal {

Status ReadSchemasAndExtensions(pg::Connection& conn, Snapshot& s, Oids& oids) {
  std::string sql =
      "SELECT n.oid, n.nspname, d.description FROM pg_namespace n "
      "LEFT JOIN pg_description d ON d.classoid = 'pg_catalog.pg_namespace'::regclass AND d.objoid = n.oid "
      "AND d.objsubid = 0 WHERE " +
      std::string(kUserSchema) + " AND " + NotInExtension("pg_namespace", "n.oid");
  PGK_ASSIGN_OR_RETURN(auto res, CatalogQuery(conn, sql, "schemas"));
  for (int r = 0; r < res.rows(); ++r) {
    oids.schemas[res.GetInt(r, 0)] = s.schemas.size();
    s.schemas.push_back({.name = res.GetString(r, 1), .comment = res.GetOpt(r, 2)});
  }
  // Extensions are listed wherever they live (plpgsql sits in pg_catalog); their members
  // are left out everywhere else.
  PGK_ASSIGN_OR_RETURN(res, CatalogQuery(conn,
                                         "SELECT e.extname, n.nspname, e.extversion FROM pg_extension e "
                                         "JOIN pg_namespace n ON n.oid = e.extnamespace",
                                         "extensions"));
  for (int r = 0; r < res.rows(); ++r) {
    s.extensions.push_back(
        {.name = res.GetString(r, 0), .schema = res.GetString(r, 1), .version = res.GetString(r, 2)});
  }
  return Status::Ok();
}

namespace {

// Composite types are the pg_type rows of relkind 'c' relations only: every table, view
// and sequence has a row type too, and those are not types anyone created.
constexpr char kTypesSql[] = R"sql(
SELECT t.oid, t.typtype, n.nspname, t.typname, d.description,
       CASE WHEN t.typtype = 'e' THEN
         (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) END,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
       t.typnotnull,
       CASE WHEN t.typtype = 'd' THEN coalesce(pg_get_expr(t.typdefaultbin, 0), t.typdefault) END,
       cn.nspname, co.collname, t.typrelid
  FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace
  LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
  LEFT JOIN pg_collation co ON co.oid = t.typcollation AND t.typtype = 'd' AND t.typcollation <> bt.typcollation
  LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
  LEFT JOIN pg_description d ON d.classoid = 'pg_catalog.pg_type'::regclass AND d.objoid = t.oid AND d.objsubid = 0
 WHERE (t.typtype IN ('e', 'd')
        OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'
            AND )sql";

// NOT NULL of a domain is typnotnull, not a constraint row (PostgreSQL 15).
constexpr char kDomainConstraintsSql[] = R"sql(
SELECT co.contypid, co.conname, pg_get_constraintdef(co.oid), co.convalidated
  FROM pg_constraint co
  JOIN pg_namespace n ON n.oid = co.connamespace
 WHERE co.contypid <> 0 AND )sql";

}  // namespace

Status ReadTypes(pg::Connection& conn, Snapshot& s, Oids& oids) {
  std::string sql = std::string(kTypesSql) + NotInExtension("pg_class", "t.typrelid") + "))\n   AND " + kUserSchema +
                    " AND " + NotInExtension("pg_type", "t.oid");
  PGK_ASSIGN_OR_RETURN(auto res, CatalogQuery(conn, sql, "types"));
  for (int r = 0; r < res.rows(); ++r) {
    std::string kind = res.GetString(r, 1);
    std::string schema = res.GetString(r, 2);
    std::string name = res.GetString(r, 3);
    if (kind == "e") {
      PGK_ASSIGN_OR_RETURN(auto labels, JsonStrings(res, r, 5));
      s.enums.push_back({.schema = schema, .name = name, .labels = std::move(labels), .comment = res.GetOpt(r, 4)});
    } else if (kind == "d") {
      oids.domains[res.GetInt(r, 0)] = s.domains.size();
      Domain d{.schema = schema, .name = name, .base_type = res.GetString(r, 6), .not_null = res.GetBool(r, 7)};
      d.default_expr = res.GetOpt(r, 8);
      if (!res.IsNull(r, 10)) d.collation = CollationName(res.GetString(r, 9), res.GetString(r, 10));
      d.comment = res.GetOpt(r, 4);
      s.domains.push_back(std::move(d));
    } else {
      // Attributes arrive with the columns of all relations (ReadColumns).
      oids.composites[res.GetInt(r, 11)] = s.composites.size();
      s.composites.push_back({.schema = schema, .name = name, .comment = res.GetOpt(r, 4)});
    }
  }

  PGK_ASSIGN_OR_RETURN(res, CatalogQuery(conn, std::string(kDomainConstraintsSql) + kUserSchema, "domain constraints"));
  for (int r = 0; r < res.rows(); ++r) {
    auto it = oids.domains.find(res.GetInt(r, 0));
    if (it == oids.domains.end()) continue;
    s.domains[it->second].constraints.push_back(
        {.name = res.GetString(r, 1), .definition = res.GetString(r, 2), .validated = res.GetBool(r, 3)});
  }
  return Status::Ok();
}

namespace {

// Identity columns' sequences depend on their column with deptype 'i' and are part of the
// column (Column::identity), so they are left out; serial and OWNED BY sequences depend
// with deptype 'a' and keep their owner as owned_by.
constexpr char kSequencesSql[] = R"sql(
SELECT c.oid, n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin,
       s.seqmax, s.seqcache, s.seqcycle, d.description, own.nspname, own.relname, own.attname
  FROM pg_sequence s
  JOIN pg_class c ON c.oid = s.seqrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_description d ON d.classoid = 'pg_catalog.pg_class'::regclass AND d.objoid = c.oid AND d.objsubid = 0
  LEFT JOIN LATERAL (
    SELECT tn.nspname, tc.relname, a.attname
      FROM pg_depend dep
      JOIN pg_class tc ON tc.oid = dep.refobjid
      JOIN pg_namespace tn ON tn.oid = tc.relnamespace
      JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
     WHERE dep.classid = 'pg_catalog.pg_class'::regclass AND dep.objid = c.oid
       AND dep.refclassid = 'pg_catalog.pg_class'::regclass AND dep.refobjsubid > 0 AND dep.deptype = 'a'
     LIMIT 1) own ON true
 WHERE NOT EXISTS (SELECT 1 FROM pg_depend dep
                    WHERE dep.classid = 'pg_catalog.pg_class'::regclass AND dep.objid = c.oid
                      AND dep.refclassid = 'pg_catalog.pg_class'::regclass AND dep.deptype = 'i')
   AND )sql";

}  // namespace

Status ReadSequences(pg::Connection& conn, Snapshot& s, Oids& oids) {
  std::string sql = std::string(kSequencesSql) + kUserSchema + " AND " + NotInExtension("pg_class", "c.oid");
  PGK_ASSIGN_OR_RETURN(auto res, CatalogQuery(conn, sql, "sequences"));
  for (int r = 0; r < res.rows(); ++r) {
    oids.sequences[res.GetInt(r, 0)] = s.sequences.size();
    Sequence q{.schema = res.GetString(r, 1),
               .name = res.GetString(r, 2),
               .type = res.GetString(r, 3),
               .start = res.GetInt(r, 4),
               .increment = res.GetInt(r, 5),
               .min_value = res.GetInt(r, 6),
               .max_value = res.GetInt(r, 7),
               .cache = res.GetInt(r, 8),
               .cycle = res.GetBool(r, 9)};
    q.comment = res.GetOpt(r, 10);
    if (!res.IsNull(r, 11)) {
      q.owned_by =
          Qualified(res.GetString(r, 11), res.GetString(r, 12)) + "." + QuoteIdentIfNeeded(res.GetString(r, 13));
    }
    s.sequences.push_back(std::move(q));
  }
  return Status::Ok();
}

}  // namespace pgk::schema::introspect_internal
