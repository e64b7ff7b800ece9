// Schemas, extensions, types, sequences, functions and views.
#include "schema/ddl.h"

namespace pgk::schema::ddl_internal {

namespace {

std::string EnumSql(const EnumType& e) {
  std::string sql = "CREATE TYPE " + Qualified(e.schema, e.name) + " AS ENUM (";
  for (size_t i = 0; i < e.labels.size(); ++i) sql += (i ? ", " : "") + Literal(e.labels[i]);
  return sql + ")";
}

std::string CompositeSql(const CompositeType& c) {
  std::string sql = "CREATE TYPE " + Qualified(c.schema, c.name) + " AS (";
  for (size_t i = 0; i < c.attributes.size(); ++i) {
    const CompositeAttribute& a = c.attributes[i];
    sql += (i ? ",\n    " : "\n    ") + QuoteIdentIfNeeded(a.name) + " " + a.type;
    if (a.collation) sql += " COLLATE " + *a.collation;
  }
  return sql + (c.attributes.empty() ? ")" : "\n)");
}

// A domain default that calls a function of the snapshot waits until all functions exist
// (the function may take the domain as an argument).
bool DeferDomainDefault(const Domain& d, const Plan& plan) {
  return d.default_expr && Calls(*d.default_expr, plan.functions);
}

// Without its CHECK constraints: they may call functions, which may use the domain.
std::string DomainSql(const Domain& d, const Plan& plan) {
  std::string sql = "CREATE DOMAIN " + Qualified(d.schema, d.name) + " AS " + d.base_type;
  if (d.collation) sql += " COLLATE " + *d.collation;
  if (d.default_expr && !DeferDomainDefault(d, plan)) sql += " DEFAULT " + *d.default_expr;
  if (d.not_null) sql += " NOT NULL";
  return sql;
}

}  // namespace

void EmitSchemas(const Snapshot& s, Sql& out) {
  out.Section("schemas");
  for (const SchemaNs& schema : s.schemas)
    if (schema.name != "public")  // an empty database has it
      out.Statement("CREATE SCHEMA IF NOT EXISTS " + QuoteIdentIfNeeded(schema.name));
}

void EmitExtensions(const Snapshot& s, Sql& out) {
  out.Section("extensions");
  for (const Extension& e : s.extensions) {
    std::string sql = "CREATE EXTENSION IF NOT EXISTS " + QuoteIdentIfNeeded(e.name);
    if (!e.schema.empty()) sql += " WITH SCHEMA " + QuoteIdentIfNeeded(e.schema);
    if (!e.version.empty()) sql += " VERSION " + Literal(e.version);
    // An extension may require one listed after it (names sort alphabetically).
    out.Statement(sql + " CASCADE");
  }
}

void EmitTypes(const Snapshot& s, const Plan& plan, Sql& out) {
  out.Section("types");
  for (const EnumType& e : s.enums) out.Statement(EnumSql(e));
  for (const TypeStep& step : plan.types)
    out.Statement(step.domain ? DomainSql(*step.domain, plan) : CompositeSql(*step.composite));
}

void EmitSequences(const Snapshot& s, Sql& out) {
  out.Section("sequences");
  for (const Sequence& q : s.sequences) {
    out.Statement("CREATE SEQUENCE " + q.QualifiedName() + " AS " + q.type + " INCREMENT BY " +
                  std::to_string(q.increment) + " MINVALUE " + std::to_string(q.min_value) + " MAXVALUE " +
                  std::to_string(q.max_value) + " START WITH " + std::to_string(q.start) + " CACHE " +
                  std::to_string(q.cache) + (q.cycle ? " CYCLE" : " NO CYCLE"));
  }
}

void EmitSequenceOwnership(const Snapshot& s, Sql& out) {
  out.Section("sequence ownership");
  for (const Sequence& q : s.sequences)
    if (q.owned_by) out.Statement("ALTER SEQUENCE " + q.QualifiedName() + " OWNED BY " + *q.owned_by);
}

void EmitFunction(const Function& f, Sql& out) {
  if (f.definition.empty()) {
    out.Note((f.kind.empty() ? std::string("function") : f.kind) + " " + f.Signature() +
             " is not recreated (not covered by the model)");
    return;
  }
  out.Statement(StripStatement(f.definition));
}

void EmitView(const View& v, Sql& out) {
  std::string definition = StripStatement(v.definition);
  if (!v.materialized) {
    out.Statement("CREATE VIEW " + v.QualifiedName() + WithClause(v.options) + " AS\n" + definition);
    return;
  }
  out.Statement("CREATE MATERIALIZED VIEW " + v.QualifiedName() + WithClause(v.options) + " AS\n" + definition +
                (v.with_data ? "\nWITH DATA" : "\nWITH NO DATA"));
}

void EmitMaterializedViewIndexes(const Snapshot& s, Sql& out) {
  out.Section("materialized view indexes");
  for (const View& v : s.views)
    for (const Index& index : v.indexes) out.Statement(StripStatement(index.definition));
}

void EmitDomainLate(const Snapshot& s, const Plan& plan, Sql& out) {
  out.Section("domain defaults and constraints");
  for (const Domain& d : s.domains) {
    std::string name = Qualified(d.schema, d.name);
    if (DeferDomainDefault(d, plan)) out.Statement("ALTER DOMAIN " + name + " SET DEFAULT " + *d.default_expr);
    for (const DomainConstraint& c : d.constraints)
      out.Statement("ALTER DOMAIN " + name + " ADD CONSTRAINT " + QuoteIdentIfNeeded(c.name) + " " +
                    WithNotValid(c.definition, c.validated));
  }
}

}  // namespace pgk::schema::ddl_internal
