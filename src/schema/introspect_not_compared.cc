// Snapshot::not_compared: object kinds the model does not describe, with how many the
// database has, so that a comparison can say what it did not look at instead of
// silently calling two databases equal.
//
// Counted in the current database, leaving out system schemas, built-in objects (OIDs
// below FirstNormalObjectId, 16384, for catalogs without a schema) and extension members:
//   event triggers, rules (other than views' _RETURN rules), foreign tables,
//   publications, subscriptions (skipped when the role may not read pg_subscription),
//   statistics objects, collations, operators, casts, text search configurations,
//   foreign servers, large objects;
// and, as other kinds the model has no place for: view triggers (ReadTriggersAndPolicies),
//   range types, base types, default privileges, operator classes, operator families,
//   text search dictionaries, foreign data wrappers, conversions, access methods,
//   transforms.
// Only kinds with a count above zero are listed, plus "owners": 0 always, as a marker
// that object owners are never compared.
#include <iterator>

#include "schema/introspect.h"

namespace pgk::schema::introspect_internal {

namespace {

struct Counted {
  const char* kind;
  const char* from_where;  // FROM and WHERE of a count(*); @USER@ and @NOEXT(catalog, oid)@ are filled in
};

// Multirange types are created with their range type and are not counted apart; array
// types of user types are created with them.
constexpr Counted kCounted[] = {
    {"event triggers", "pg_event_trigger x WHERE @NOEXT(pg_event_trigger, x.oid)@"},
    {"rules",
     "pg_rewrite x JOIN pg_class c ON c.oid = x.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace "
     "WHERE x.rulename <> '_RETURN' AND @USER@ AND @NOEXT(pg_rewrite, x.oid)@"},
    {"foreign tables",
     "pg_class x JOIN pg_namespace n ON n.oid = x.relnamespace WHERE x.relkind = 'f' AND @USER@ "
     "AND @NOEXT(pg_class, x.oid)@"},
    {"publications", "pg_publication x WHERE @NOEXT(pg_publication, x.oid)@"},
    {"statistics objects",
     "pg_statistic_ext x JOIN pg_namespace n ON n.oid = x.stxnamespace WHERE @USER@ "
     "AND @NOEXT(pg_statistic_ext, x.oid)@"},
    {"collations",
     "pg_collation x JOIN pg_namespace n ON n.oid = x.collnamespace WHERE @USER@ AND @NOEXT(pg_collation, x.oid)@"},
    {"operators",
     "pg_operator x JOIN pg_namespace n ON n.oid = x.oprnamespace WHERE @USER@ AND @NOEXT(pg_operator, x.oid)@"},
    {"casts", "pg_cast x WHERE x.oid >= 16384 AND @NOEXT(pg_cast, x.oid)@"},
    {"text search configurations",
     "pg_ts_config x JOIN pg_namespace n ON n.oid = x.cfgnamespace WHERE @USER@ AND @NOEXT(pg_ts_config, x.oid)@"},
    {"foreign servers", "pg_foreign_server x WHERE @NOEXT(pg_foreign_server, x.oid)@"},
    {"large objects", "pg_largeobject_metadata x"},
    {"range types",
     "pg_type x JOIN pg_namespace n ON n.oid = x.typnamespace WHERE x.typtype = 'r' AND @USER@ "
     "AND @NOEXT(pg_type, x.oid)@"},
    {"base types",
     "pg_type x JOIN pg_namespace n ON n.oid = x.typnamespace WHERE x.typtype = 'b' AND @USER@ "
     "AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = x.oid) AND @NOEXT(pg_type, x.oid)@"},
    {"default privileges", "pg_default_acl x"},
    {"operator classes",
     "pg_opclass x JOIN pg_namespace n ON n.oid = x.opcnamespace WHERE @USER@ AND @NOEXT(pg_opclass, x.oid)@"},
    {"operator families",
     "pg_opfamily x JOIN pg_namespace n ON n.oid = x.opfnamespace WHERE @USER@ AND @NOEXT(pg_opfamily, x.oid)@"},
    {"text search dictionaries",
     "pg_ts_dict x JOIN pg_namespace n ON n.oid = x.dictnamespace WHERE @USER@ AND @NOEXT(pg_ts_dict, x.oid)@"},
    {"foreign data wrappers", "pg_foreign_data_wrapper x WHERE @NOEXT(pg_foreign_data_wrapper, x.oid)@"},
    {"conversions",
     "pg_conversion x JOIN pg_namespace n ON n.oid = x.connamespace WHERE @USER@ AND @NOEXT(pg_conversion, x.oid)@"},
    {"access methods", "pg_am x WHERE x.oid >= 16384 AND @NOEXT(pg_am, x.oid)@"},
    {"transforms", "pg_transform x WHERE x.oid >= 16384 AND @NOEXT(pg_transform, x.oid)@"},
};

// Fills the placeholders of a Counted::from_where.
std::string Expand(std::string text) {
  for (size_t at = text.find("@USER@"); at != std::string::npos; at = text.find("@USER@", at)) {
    text.replace(at, 6, kUserSchema);
  }
  for (size_t at = text.find("@NOEXT("); at != std::string::npos; at = text.find("@NOEXT(", at)) {
    size_t comma = text.find(", ", at);
    size_t end = text.find(")@", comma);
    std::string catalog = text.substr(at + 7, comma - at - 7);
    std::string oid = text.substr(comma + 2, end - comma - 2);
    text.replace(at, end + 2 - at, NotInExtension(catalog, oid));
  }
  return text;
}

}  // namespace

Status ReadNotCompared(pg::Connection& conn, Snapshot& s) {
  std::string sql = "SELECT ";
  for (size_t i = 0; i < std::size(kCounted); ++i) {
    sql += std::string(i ? ", " : "") + "(SELECT count(*) FROM " + Expand(kCounted[i].from_where) + ")";
  }
  PGK_ASSIGN_OR_RETURN(auto res, CatalogQuery(conn, sql, "objects that are not compared"));
  for (size_t i = 0; i < std::size(kCounted); ++i) {
    int64_t n = res.GetInt(0, static_cast<int>(i));
    if (n > 0) s.not_compared[kCounted[i].kind] += n;
  }

  // pg_subscription is shared and partly hidden from ordinary roles; a failure here must
  // not abort the snapshot's transaction, hence the savepoint.
  PGK_RETURN_IF_ERROR(conn.Exec("SAVEPOINT pgk_introspect_subscriptions"));
  auto subs = conn.Query(
      "SELECT count(*) FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database "
      "WHERE datname = current_database())");
  if (subs.ok()) {
    if (int64_t n = subs->GetInt(0, 0); n > 0) s.not_compared["subscriptions"] = n;
    PGK_RETURN_IF_ERROR(conn.Exec("RELEASE SAVEPOINT pgk_introspect_subscriptions"));
  } else {
    PGK_RETURN_IF_ERROR(conn.Exec("ROLLBACK TO SAVEPOINT pgk_introspect_subscriptions"));
  }
  s.not_compared["owners"] = 0;
  return Status::Ok();
}

}  // namespace pgk::schema::introspect_internal
