// Privileges on schemas, tables, views, sequences, columns and routines, all in one query.
//
// Two choices keep snapshots independent of who created the objects:
//   - the owner's own privileges (grantee = owner) are skipped: they are implicit in
//     ownership, and owners are not compared;
//   - a NULL ACL (never granted or revoked: the built-in defaults) yields no rows.
// A consequence: an ACL edited back to exactly the owner's entries (e.g. REVOKE EXECUTE
// ... FROM PUBLIC on a function) also yields no rows, like the default that it is not.
#include "schema/introspect.h"

namespace pgk::schema::introspect_internal {

namespace {

// Several grantors can grant the same privilege: DISTINCT folds them into one grant.
constexpr char kGrantsSql[] = R"sql(
SELECT DISTINCT g.kind, g.oid, g.attname,
       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee)::text END,
       g.privilege_type, g.is_grantable
  FROM (SELECT 'r' AS kind, c.oid, NULL::name AS attname, acl.grantee, acl.privilege_type, acl.is_grantable
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         CROSS JOIN LATERAL aclexplode(c.relacl) acl
         WHERE c.relacl IS NOT NULL AND acl.grantee <> c.relowner AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
           AND @USER@
        UNION ALL
        SELECT 'c', c.oid, a.attname, acl.grantee, acl.privilege_type, acl.is_grantable
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         CROSS JOIN LATERAL aclexplode(a.attacl) acl
         WHERE a.attacl IS NOT NULL AND NOT a.attisdropped AND a.attnum > 0 AND acl.grantee <> c.relowner
           AND @USER@
        UNION ALL
        SELECT 'f', p.oid, NULL, acl.grantee, acl.privilege_type, acl.is_grantable
          FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
         CROSS JOIN LATERAL aclexplode(p.proacl) acl
         WHERE p.proacl IS NOT NULL AND acl.grantee <> p.proowner AND @USER@
        UNION ALL
        SELECT 'n', n.oid, NULL, acl.grantee, acl.privilege_type, acl.is_grantable
          FROM pg_namespace n
         CROSS JOIN LATERAL aclexplode(n.nspacl) acl
         WHERE n.nspacl IS NOT NULL AND acl.grantee <> n.nspowner AND @USER@) g)sql";

// The vector of grants of the object `oid` of class `kind`, or nullptr when the object
// was left out of the snapshot (a system or extension object).
std::vector<Grant>* GrantsOf(Snapshot& s, const Oids& oids, char kind, int64_t oid, const std::string& column) {
  auto find = [oid](const std::unordered_map<int64_t, size_t>& m) -> const size_t* {
    auto it = m.find(oid);
    return it == m.end() ? nullptr : &it->second;
  };
  switch (kind) {
    case 'n':
      if (auto i = find(oids.schemas)) return &s.schemas[*i].grants;
      return nullptr;
    case 'f':
      if (auto i = find(oids.functions)) return &s.functions[*i].grants;
      return nullptr;
    case 'c':
      if (auto i = find(oids.tables)) {
        for (auto& c : s.tables[*i].columns) {
          if (c.name == column) return &c.grants;
        }
      }
      return nullptr;
    default:
      if (auto i = find(oids.tables)) return &s.tables[*i].grants;
      if (auto i = find(oids.views)) return &s.views[*i].grants;
      if (auto i = find(oids.sequences)) return &s.sequences[*i].grants;
      return nullptr;
  }
}

}  // namespace

Status ReadGrants(pg::Connection& conn, Snapshot& s, const Oids& oids) {
  std::string sql = kGrantsSql;
  for (size_t at = sql.find("@USER@"); at != std::string::npos; at = sql.find("@USER@", at)) {
    sql.replace(at, 6, kUserSchema);
  }
  PGK_ASSIGN_OR_RETURN(auto res, CatalogQuery(conn, sql, "privileges"));
  for (int r = 0; r < res.rows(); ++r) {
    char kind = res.Get(r, 0).empty() ? 'r' : res.Get(r, 0)[0];
    std::string column = res.GetString(r, 2);
    std::vector<Grant>* grants = GrantsOf(s, oids, kind, res.GetInt(r, 1), column);
    if (!grants) continue;
    std::string privilege = res.GetString(r, 4);
    // Column privileges name their column, as in GRANT SELECT (col) ON ...
    if (kind == 'c') privilege += " (" + QuoteIdentIfNeeded(column) + ")";
    grants->push_back({.grantee = res.GetString(r, 3), .privilege = privilege, .grantable = res.GetBool(r, 5)});
  }
  return Status::Ok();
}

}  // namespace pgk::schema::introspect_internal
