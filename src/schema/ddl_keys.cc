// Keys, indexes, foreign keys and CHECK constraints.
//
// Partitions: an index or key added to a partitioned table is added to every partition
// too, and PostgreSQL names the partitions' copies itself (p1_pkey, p1_v_idx, p1_v_idx1
// depending on the order of creation). To keep the snapshot's names, the partitions'
// copies (marked inherited) are created first, leaves before their partitioned parents,
// and the parents' without ONLY: PostgreSQL then attaches the matching existing index
// instead of creating one. Inherited CHECK and FOREIGN KEY constraints keep the parent's
// name, so they are simply left to recursion. Local indexes of partitions come last, so
// that no parent attaches them.
#include <algorithm>

#include "schema/ddl.h"

namespace pgk::schema::ddl_internal {

namespace {

bool IsKey(const Constraint& c) { return c.kind == "primary key" || c.kind == "unique" || c.kind == "exclusion"; }
bool Partitioned(const Table& t) { return t.kind == "partitioned table"; }

std::string AddConstraint(const Table& t, const Constraint& c, bool only) {
  return std::string("ALTER TABLE ") + (only ? "ONLY " : "") + t.QualifiedName() + " ADD CONSTRAINT " +
         QuoteIdentIfNeeded(c.name) + " " + WithNotValid(c.definition, c.validated);
}

// pg_get_indexdef prints "ON ONLY" for a partitioned table's index; run as is, that
// would create it invalid and without the partitions' copies.
std::string IndexSql(const Table& t, const Index& index) {
  std::string sql = StripStatement(index.definition);
  if (!Partitioned(t)) return sql;
  size_t at = sql.find(" ON ONLY " + t.QualifiedName() + " ");
  if (at == std::string::npos) at = sql.find(" ON ONLY ");
  if (at != std::string::npos) sql.erase(at + 3, 5);
  return sql;
}

void KeysAndIndexes(const Table& t, bool inherited, bool only, Sql& out) {
  for (const Constraint& c : t.constraints)
    if (IsKey(c) && c.inherited == inherited) out.Statement(AddConstraint(t, c, only));
  for (const Index& index : t.indexes)
    if (index.constraint.empty() && index.inherited == inherited) out.Statement(IndexSql(t, index));
}

}  // namespace

void EmitKeysAndIndexes(const Plan& plan, Sql& out) {
  out.Section("keys and indexes (partitions first, so that their parents attach them)");
  for (const Table* t : plan.tables)
    if (t->partition_of && !Partitioned(*t)) KeysAndIndexes(*t, true, true, out);
  std::vector<const Table*> partitioned;
  for (const Table* t : plan.tables)
    if (Partitioned(*t)) partitioned.push_back(t);
  std::stable_sort(partitioned.begin(), partitioned.end(),
                   [&](const Table* a, const Table* b) { return plan.depth.at(a) > plan.depth.at(b); });
  for (const Table* t : partitioned) {
    KeysAndIndexes(*t, true, false, out);
    KeysAndIndexes(*t, false, false, out);
  }
  for (const Table* t : plan.tables)
    if (!Partitioned(*t)) KeysAndIndexes(*t, false, true, out);
}

void EmitForeignKeys(const Plan& plan, Sql& out) {
  out.Section("foreign keys");
  for (const Table* t : plan.tables)
    for (const Constraint& c : t->constraints)
      // A partitioned table refuses ONLY here; its partitions get the constraint.
      if (c.kind == "foreign key" && !c.inherited) out.Statement(AddConstraint(*t, c, !Partitioned(*t)));
}

void EmitChecks(const Plan& plan, Sql& out) {
  out.Section("check constraints");
  for (const Table* t : plan.tables)
    for (const Constraint& c : t->constraints)
      // Without ONLY: PostgreSQL requires a CHECK to reach every child (unless NO INHERIT,
      // which the definition says), and the children have it as inherited.
      if (c.kind == "check" && !c.inherited) out.Statement(AddConstraint(*t, c, false));
}

}  // namespace pgk::schema::ddl_internal
