// Functions, procedures, aggregates and window functions.
#include "common/hash.h"
#include "schema/introspect.h"

namespace pgk::schema::introspect_internal {

namespace {

// pg_get_functiondef refuses aggregates (there is no CREATE OR REPLACE form for them), so
// it is not called for them. pg_get_function_result is NULL for procedures.
constexpr char kFunctionsSql[] = R"sql(
SELECT p.oid, n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.prokind,
       coalesce(pg_get_function_result(p.oid), ''), l.lanname, p.provolatile, p.prosecdef, p.proisstrict,
       p.prosrc, p.prosqlbody IS NOT NULL, CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END,
       d.description,
       pg_get_function_arguments(p.oid), a.aggkind, a.aggtransfn::regproc::text, format_type(a.aggtranstype, NULL),
       a.aggtransspace, nullif(a.aggfinalfn, 0)::regproc::text, a.aggfinalextra, a.aggfinalmodify,
       nullif(a.aggcombinefn, 0)::regproc::text, nullif(a.aggserialfn, 0)::regproc::text,
       nullif(a.aggdeserialfn, 0)::regproc::text, quote_literal(a.agginitval),
       CASE WHEN a.aggsortop <> 0 THEN 'OPERATOR(' || quote_ident(opn.nspname) || '.' || o.oprname || ')' END,
       p.proparallel
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_language l ON l.oid = p.prolang
  LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid
  LEFT JOIN pg_operator o ON o.oid = a.aggsortop
  LEFT JOIN pg_namespace opn ON opn.oid = o.oprnamespace
  LEFT JOIN pg_description d ON d.classoid = 'pg_catalog.pg_proc'::regclass AND d.objoid = p.oid AND d.objsubid = 0
 WHERE )sql";

std::string RoutineKind(std::string_view c) {
  if (c == "p") return "procedure";
  if (c == "a") return "aggregate";
  if (c == "w") return "window";
  return "function";
}

std::string Volatility(std::string_view c) {
  if (c == "i") return "immutable";
  if (c == "s") return "stable";
  return "volatile";
}

// pg_get_functiondef refuses aggregates, so their CREATE AGGREGATE is assembled from
// pg_aggregate (columns 14..27 of kFunctionsSql). Moving-aggregate support (MSFUNC ...)
// is not rendered; such aggregates are rare and would be recreated without it.
std::string AggregateDefinition(const pg::QueryResult& res, int r, const Function& f) {
  std::string def = "CREATE AGGREGATE " + Qualified(f.schema, f.name) + "(" + res.GetString(r, 14) + ") (\n";
  std::vector<std::string> parts = {"SFUNC = " + res.GetString(r, 16), "STYPE = " + res.GetString(r, 17)};
  if (res.GetInt(r, 18) > 0) parts.push_back("SSPACE = " + res.GetString(r, 18));
  if (!res.IsNull(r, 19)) {
    parts.push_back("FINALFUNC = " + res.GetString(r, 19));
    if (res.GetBool(r, 20)) parts.push_back("FINALFUNC_EXTRA");
    std::string modify = res.GetString(r, 21);
    std::string kind = res.GetString(r, 15);
    // The default is READ_ONLY for normal aggregates and READ_WRITE for ordered-set ones.
    if (modify == "s") parts.push_back("FINALFUNC_MODIFY = SHAREABLE");
    if (modify == "w" && kind == "n") parts.push_back("FINALFUNC_MODIFY = READ_WRITE");
    if (modify == "r" && kind != "n") parts.push_back("FINALFUNC_MODIFY = READ_ONLY");
  }
  if (!res.IsNull(r, 22)) parts.push_back("COMBINEFUNC = " + res.GetString(r, 22));
  if (!res.IsNull(r, 23)) parts.push_back("SERIALFUNC = " + res.GetString(r, 23));
  if (!res.IsNull(r, 24)) parts.push_back("DESERIALFUNC = " + res.GetString(r, 24));
  if (!res.IsNull(r, 25)) parts.push_back("INITCOND = " + res.GetString(r, 25));
  if (!res.IsNull(r, 26)) parts.push_back("SORTOP = " + res.GetString(r, 26));
  if (res.GetString(r, 15) == "h") parts.push_back("HYPOTHETICAL");
  std::string parallel = res.GetString(r, 27);
  if (parallel == "s") parts.push_back("PARALLEL = SAFE");
  if (parallel == "r") parts.push_back("PARALLEL = RESTRICTED");
  for (size_t i = 0; i < parts.size(); ++i) def += "    " + parts[i] + (i + 1 < parts.size() ? ",\n" : "\n");
  return def + ")";
}

}  // namespace

Status ReadFunctions(pg::Connection& conn, Snapshot& s, Oids& oids) {
  std::string sql = std::string(kFunctionsSql) + kUserSchema + " AND " + NotInExtension("pg_proc", "p.oid");
  PGK_ASSIGN_OR_RETURN(auto res, CatalogQuery(conn, sql, "functions"));
  for (int r = 0; r < res.rows(); ++r) {
    oids.functions[res.GetInt(r, 0)] = s.functions.size();
    Function f{.schema = res.GetString(r, 1),
               .name = res.GetString(r, 2),
               .identity_args = res.GetString(r, 3),
               .kind = RoutineKind(res.Get(r, 4)),
               .result = res.GetString(r, 5),
               .language = res.GetString(r, 6),
               .volatility = Volatility(res.Get(r, 7)),
               .security_definer = res.GetBool(r, 8),
               .strict = res.GetBool(r, 9)};
    if (!res.IsNull(r, 12)) f.definition = res.GetString(r, 12);
    if (f.kind == "aggregate" && !res.IsNull(r, 15)) f.definition = AggregateDefinition(res, r, f);
    // A SQL-standard body (BEGIN ATOMIC / RETURN) is stored parsed, with prosrc empty:
    // its only text form is the definition, which then stands in for the source.
    f.body_hash = "sha256:" + Sha256Hex(res.GetBool(r, 11) ? f.definition : res.GetString(r, 10));
    f.comment = res.GetOpt(r, 13);
    s.functions.push_back(std::move(f));
  }
  return Status::Ok();
}

}  // namespace pgk::schema::introspect_internal
