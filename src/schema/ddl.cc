#include "schema/ddl.h"

namespace pgk::schema {

using namespace ddl_internal;  // NOLINT(google-build-using-namespace): this file is its driver

std::string GenerateSql(const Snapshot& snapshot, const DdlOptions& options) {
  const Plan plan = MakePlan(snapshot);
  Sql out;
  // Function bodies may use tables created later; notices about implicit objects and
  // IF NOT EXISTS would only be noise.
  out.Statement("SET check_function_bodies = false");
  out.Statement("SET client_min_messages = warning");
  EmitSchemas(snapshot, out);
  EmitExtensions(snapshot, out);
  EmitTypes(snapshot, plan, out);
  EmitSequences(snapshot, out);  // before the tables whose defaults call nextval()
  // Functions come before the tables whose defaults, generated columns and checks may
  // call them; those that need a table (a row type argument, an SQL-standard body that
  // reads one) come after.
  out.Section("functions");
  for (const Function* f : plan.early_functions) EmitFunction(*f, out);
  EmitTables(plan, out);
  EmitSequenceOwnership(snapshot, out);
  out.Section("functions that need tables");
  for (const Function* f : plan.table_functions) EmitFunction(*f, out);
  // Keys before views: a view may group by a primary key and select other columns.
  EmitKeysAndIndexes(plan, out);
  EmitForeignKeys(plan, out);
  out.Section("views");
  for (const LateStep& step : plan.late) {
    if (step.view) EmitView(*step.view, out);
    if (step.function) EmitFunction(*step.function, out);
  }
  EmitDeferredDefaults(plan, out);
  EmitChecks(plan, out);  // after every function they may call
  EmitMaterializedViewIndexes(snapshot, out);
  EmitTriggers(plan, out);
  EmitRowSecurity(plan, out);
  EmitDomainLate(snapshot, plan, out);
  if (options.comments) EmitComments(snapshot, out);
  if (options.grants) EmitGrants(snapshot, out);
  return out.Take();
}

}  // namespace pgk::schema
