#include "schema/model.h"

#include <algorithm>
#include <set>

namespace pgk::schema {

namespace {

// PostgreSQL's reserved keywords (those quote_ident quotes even when lower-case), from
// src/include/parser/kwlist.h: RESERVED_KEYWORD and TYPE_FUNC_NAME_KEYWORD... quote_ident
// quotes every keyword that is not UNRESERVED, so both lists are here.
const std::set<std::string>& Keywords() {
  static const std::set<std::string> k = {
      "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "between",
      "bigint", "binary", "bit", "boolean", "both", "case", "cast", "char", "character", "check", "coalesce",
      "collate", "collation", "column", "concurrently", "constraint", "create", "cross", "current_catalog",
      "current_date", "current_role", "current_schema", "current_time", "current_timestamp", "current_user", "dec",
      "decimal", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "exists", "extract",
      "false", "fetch", "float", "for", "foreign", "freeze", "from", "full", "grant", "greatest", "group",
      "grouping", "having", "ilike", "in", "initially", "inner", "inout", "int", "integer", "intersect", "interval",
      "into", "is", "isnull", "join", "json_array", "json_arrayagg", "json_object", "json_objectagg", "lateral",
      "leading", "least", "left", "like", "limit", "localtime", "localtimestamp", "national", "natural", "nchar",
      "none", "normalize", "not", "notnull", "null", "nullif", "numeric", "offset", "on", "only", "or", "order",
      "out", "outer", "overlaps", "overlay", "placing", "position", "precision", "primary", "real", "references",
      "returning", "right", "row", "select", "session_user", "setof", "similar", "smallint", "some", "substring",
      "symmetric", "system_user", "table", "tablesample", "then", "time", "timestamp", "to", "trailing", "treat",
      "trim", "true", "union", "unique", "user", "using", "values", "varchar", "variadic", "verbose", "when",
      "where", "window", "with", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists", "xmlforest",
      "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable"};
  return k;
}

template <typename T>
void SortBy(std::vector<T>& v, auto key) {
  std::sort(v.begin(), v.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
}

void SortGrants(std::vector<Grant>& g) {
  SortBy(g, [](const Grant& x) { return std::tie(x.grantee, x.privilege, x.grantable); });
}

}  // namespace

std::string QuoteIdentIfNeeded(const std::string& name) {
  bool safe = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
  for (char c : name) safe = safe && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (safe && !Keywords().count(name)) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Qualified(const std::string& schema, const std::string& name) {
  return QuoteIdentIfNeeded(schema) + "." + QuoteIdentIfNeeded(name);
}

std::string Table::QualifiedName() const { return Qualified(schema, name); }
std::string Sequence::QualifiedName() const { return Qualified(schema, name); }
std::string View::QualifiedName() const { return Qualified(schema, name); }
std::string Function::Signature() const { return Qualified(schema, name) + "(" + identity_args + ")"; }

void Canonicalize(Snapshot& s) {
  SortBy(s.schemas, [](const SchemaNs& x) { return x.name; });
  for (auto& x : s.schemas) SortGrants(x.grants);
  SortBy(s.extensions, [](const Extension& x) { return x.name; });
  SortBy(s.enums, [](const EnumType& x) { return std::tie(x.schema, x.name); });
  SortBy(s.domains, [](const Domain& x) { return std::tie(x.schema, x.name); });
  for (auto& d : s.domains) SortBy(d.constraints, [](const DomainConstraint& c) { return c.name; });
  SortBy(s.composites, [](const CompositeType& x) { return std::tie(x.schema, x.name); });
  SortBy(s.sequences, [](const Sequence& x) { return std::tie(x.schema, x.name); });
  for (auto& x : s.sequences) SortGrants(x.grants);
  SortBy(s.tables, [](const Table& x) { return std::tie(x.schema, x.name); });
  for (auto& t : s.tables) {
    SortBy(t.constraints, [](const Constraint& c) { return c.name; });
    SortBy(t.indexes, [](const Index& c) { return c.name; });
    SortBy(t.triggers, [](const Trigger& c) { return c.name; });
    SortBy(t.policies, [](const Policy& c) { return c.name; });
    for (auto& p : t.policies) std::sort(p.roles.begin(), p.roles.end());
    std::sort(t.options.begin(), t.options.end());
    SortGrants(t.grants);
    for (auto& c : t.columns) SortGrants(c.grants);
  }
  SortBy(s.views, [](const View& x) { return std::tie(x.schema, x.name); });
  for (auto& v : s.views) {
    SortBy(v.indexes, [](const Index& c) { return c.name; });
    std::sort(v.options.begin(), v.options.end());
    std::sort(v.depends_on.begin(), v.depends_on.end());
    SortGrants(v.grants);
  }
  SortBy(s.functions, [](const Function& x) { return std::tie(x.schema, x.name, x.identity_args); });
  for (auto& f : s.functions) SortGrants(f.grants);
}

}  // namespace pgk::schema
