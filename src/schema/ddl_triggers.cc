// Triggers and row level security.
#include "schema/ddl.h"

namespace pgk::schema::ddl_internal {

namespace {

std::string EnableSql(const std::string& enabled) {
  if (enabled == "disabled") return "DISABLE TRIGGER";
  if (enabled == "replica") return "ENABLE REPLICA TRIGGER";
  if (enabled == "always") return "ENABLE ALWAYS TRIGGER";
  return "ENABLE TRIGGER";
}

std::string State(const Trigger& trigger) { return trigger.enabled.empty() ? "origin" : trigger.enabled; }

std::string SetState(const Table& t, const Trigger& trigger, bool only) {
  return std::string("ALTER TABLE ") + (only ? "ONLY " : "") + t.QualifiedName() + " " + EnableSql(State(trigger)) +
         " " + QuoteIdentIfNeeded(trigger.name);
}

}  // namespace

void EmitTriggers(const Plan& plan, Sql& out) {
  out.Section("triggers");
  // A trigger on a partitioned table is cloned to its partitions (the clones are marked
  // inherited and keep its name).
  for (const Table* t : plan.tables)
    for (const Trigger& trigger : t->triggers)
      if (!trigger.inherited) out.Statement(StripStatement(trigger.definition));
  for (const Table* t : plan.tables)
    for (const Trigger& trigger : t->triggers)
      if (!trigger.inherited && State(trigger) != "origin") out.Statement(SetState(*t, trigger, false));
  // Whether changing a parent's state reaches the clones differs between minor releases,
  // so a clone whose state may have been touched is set explicitly, parents first.
  for (const Table* t : plan.tables) {
    const Table* parent = nullptr;
    if (t->partition_of && plan.by_name.count(*t->partition_of)) parent = plan.by_name.at(*t->partition_of);
    for (const Trigger& trigger : t->triggers) {
      if (!trigger.inherited) continue;
      std::string parent_state = "origin";
      if (parent)
        for (const Trigger& p : parent->triggers)
          if (p.name == trigger.name) parent_state = State(p);
      if (State(trigger) != "origin" || parent_state != "origin") out.Statement(SetState(*t, trigger, true));
    }
  }
}

void EmitRowSecurity(const Plan& plan, Sql& out) {
  out.Section("row level security");
  for (const Table* t : plan.tables) {
    const std::string name = t->QualifiedName();
    if (t->rls_enabled) out.Statement("ALTER TABLE " + name + " ENABLE ROW LEVEL SECURITY");
    if (t->rls_forced) out.Statement("ALTER TABLE " + name + " FORCE ROW LEVEL SECURITY");
    for (const Policy& p : t->policies) {
      std::string sql = "CREATE POLICY " + QuoteIdentIfNeeded(p.name) + " ON " + name + " AS " +
                        (p.permissive ? "PERMISSIVE" : "RESTRICTIVE") + " FOR " +
                        (p.command.empty() ? std::string("ALL") : p.command);
      for (size_t i = 0; i < p.roles.size(); ++i) sql += (i ? ", " : " TO ") + Grantee(p.roles[i]);
      if (p.using_expr) sql += " USING " + Parenthesized(*p.using_expr);
      if (p.check_expr) sql += " WITH CHECK " + Parenthesized(*p.check_expr);
      out.Statement(sql);
    }
  }
}

}  // namespace pgk::schema::ddl_internal
