// COMMENT ON and GRANT, after every object exists.
#include "schema/ddl.h"

namespace pgk::schema::ddl_internal {

namespace {

void Comment(const std::string& target, const std::optional<std::string>& text, Sql& out) {
  if (text) out.Statement("COMMENT ON " + target + " IS " + Literal(*text));
}

void IndexComments(const std::string& schema, const std::vector<Index>& indexes, Sql& out) {
  for (const Index& index : indexes) Comment("INDEX " + Qualified(schema, index.name), index.comment, out);
}

bool Creatable(const Function& f) { return !f.definition.empty(); }

std::string RoutineTarget(const Function& f) {
  return (f.kind == "procedure" ? "PROCEDURE " : f.kind == "aggregate" ? "AGGREGATE " : "FUNCTION ") + f.Signature();
}

void Grants(const std::string& target, const std::vector<Grant>& grants, Sql& out) {
  for (const Grant& g : grants)
    out.Statement("GRANT " + g.privilege + " ON " + target + " TO " + Grantee(g.grantee) +
                  (g.grantable ? " WITH GRANT OPTION" : ""));
}

bool GrantsTo(const std::vector<Grant>& grants, const std::string& grantee, const std::string& privilege) {
  for (const Grant& g : grants)
    if (g.grantee == grantee && g.privilege == privilege) return true;
  return false;
}

}  // namespace

void EmitComments(const Snapshot& s, Sql& out) {
  out.Section("comments");
  for (const SchemaNs& schema : s.schemas) {
    // An empty database's public schema comes with a comment; the snapshot may have none.
    if (schema.name == "public" && !schema.comment) out.Statement("COMMENT ON SCHEMA public IS NULL");
    Comment("SCHEMA " + QuoteIdentIfNeeded(schema.name), schema.comment, out);
  }
  for (const EnumType& e : s.enums) Comment("TYPE " + Qualified(e.schema, e.name), e.comment, out);
  for (const CompositeType& c : s.composites) Comment("TYPE " + Qualified(c.schema, c.name), c.comment, out);
  for (const Domain& d : s.domains) Comment("DOMAIN " + Qualified(d.schema, d.name), d.comment, out);
  for (const Sequence& q : s.sequences) Comment("SEQUENCE " + q.QualifiedName(), q.comment, out);
  for (const Table& t : s.tables) {
    const std::string name = t.QualifiedName();
    Comment("TABLE " + name, t.comment, out);
    for (const Column& c : t.columns) Comment("COLUMN " + name + "." + QuoteIdentIfNeeded(c.name), c.comment, out);
    // Inherited constraints, indexes and triggers exist under the same names once the
    // parents' are created, so their comments are set as well.
    for (const Constraint& c : t.constraints)
      Comment("CONSTRAINT " + QuoteIdentIfNeeded(c.name) + " ON " + name, c.comment, out);
    IndexComments(t.schema, t.indexes, out);
    for (const Trigger& g : t.triggers)
      Comment("TRIGGER " + QuoteIdentIfNeeded(g.name) + " ON " + name, g.comment, out);
    for (const Policy& p : t.policies) Comment("POLICY " + QuoteIdentIfNeeded(p.name) + " ON " + name, p.comment, out);
  }
  for (const View& v : s.views) {
    Comment((v.materialized ? "MATERIALIZED VIEW " : "VIEW ") + v.QualifiedName(), v.comment, out);
    IndexComments(v.schema, v.indexes, out);
  }
  for (const Function& f : s.functions)
    if (Creatable(f)) Comment(RoutineTarget(f), f.comment, out);
}

void EmitGrants(const Snapshot& s, Sql& out) {
  out.Section("grants");
  // The introspection lists a schema's or function's privileges only when its ACL was
  // changed from the default. PUBLIC's default privilege (EXECUTE on functions, USAGE on
  // public in PostgreSQL 15) is then part of the list if it was kept; if it is missing,
  // it was revoked.
  for (const SchemaNs& schema : s.schemas) {
    const std::string name = QuoteIdentIfNeeded(schema.name);
    if (schema.name == "public" && !schema.grants.empty() && !GrantsTo(schema.grants, "PUBLIC", "USAGE"))
      out.Statement("REVOKE ALL ON SCHEMA public FROM PUBLIC");
    Grants("SCHEMA " + name, schema.grants, out);
  }
  for (const Sequence& q : s.sequences) Grants("SEQUENCE " + q.QualifiedName(), q.grants, out);
  for (const Table& t : s.tables) {
    Grants("TABLE " + t.QualifiedName(), t.grants, out);
    for (const Column& c : t.columns) {
      for (Grant g : c.grants) {
        if (g.privilege.find('(') == std::string::npos) g.privilege += " (" + QuoteIdentIfNeeded(c.name) + ")";
        Grants("TABLE " + t.QualifiedName(), {g}, out);
      }
    }
  }
  for (const View& v : s.views) Grants("TABLE " + v.QualifiedName(), v.grants, out);
  for (const Function& f : s.functions) {
    if (!Creatable(f)) continue;
    const std::string target = RoutineTarget(f);
    if (!f.grants.empty() && !GrantsTo(f.grants, "PUBLIC", "EXECUTE"))
      out.Statement("REVOKE ALL ON " + target + " FROM PUBLIC");
    Grants(target, f.grants, out);
  }
}

}  // namespace pgk::schema::ddl_internal
