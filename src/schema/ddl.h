// DDL generation: the SQL that recreates a Snapshot (model.h) in an empty database.
//
// A caller may rely on:
//   - one script, in dependency order, that runs top to bottom in one session (psql -f, or
//     a single simple-query call); it starts with SET check_function_bodies = false and
//     SET client_min_messages = warning, and changes no other setting (not search_path:
//     definitions are introspected with an empty search_path, so they are qualified);
//   - applying it to an empty database and introspecting again gives an equal snapshot
//     (introspect.h), including partitions' index and key names and clones' trigger
//     states, except for:
//       * aggregates, which are not recreated (the model keeps none of their parts): the
//         script has a "-- aggregate schema.name(args) is not recreated" line instead;
//       * roles, which are not created: grants and policies name roles that must exist;
//       * a generated column or a composite type attribute that needs a table first (a
//         function with an SQL-standard body reading one; a table's row type);
//       * what the model does not record: identity sequence options, which parent index
//         a partition's index is attached to, and an ACL revoked down to its owner
//         (introspected as no grants, like the default);
//   - every statement ends with ";\n"; sections start with a "-- title" line;
//   - the output is a pure function of the snapshot (no I/O, no clock).
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schema/model.h"

namespace pgk::schema {

struct DdlOptions {
  bool grants = true;    // emit GRANT (and the REVOKE ... FROM PUBLIC they need)
  bool comments = true;  // emit COMMENT ON
};

// The DDL that recreates `snapshot` in an empty database, in this order (ddl.cc and the
// ddl_*.cc file comments say why):
//   schemas, extensions, types (enums, then domains and composite types ordered by what
//   they use; domain CHECKs come at the end), sequences, functions (those that need no
//   table), tables (parents first), sequence ownership, functions that need tables, keys
//   and indexes (partitions first so their parents attach them), foreign keys, views
//   (with the functions that need them, in dependency order), deferred column defaults,
//   CHECK constraints, materialized view indexes, triggers, row level security, domain
//   defaults and constraints, comments, grants.
std::string GenerateSql(const Snapshot& snapshot, const DdlOptions& options = {});

// The pieces GenerateSql() is made of (ddl_*.cc). Not for callers.
namespace ddl_internal {

// ddl_text.cc: text helpers.

// Collects statements under lazily written "-- title" headers (a section without
// statements leaves no trace).
class Sql {
 public:
  void Section(std::string title);
  void Statement(std::string_view text);  // text + ";\n"
  void Note(std::string_view text);       // "-- text\n"
  std::string Take() { return std::move(out_); }

 private:
  void Flush();
  std::string out_;
  std::string pending_title_;
};

std::string Literal(std::string_view text);    // 'text', quotes doubled
std::string Grantee(const std::string& role);  // PUBLIC or the quoted role
// Leading and trailing whitespace and trailing ';' removed (pg_get_viewdef ends with one).
std::string StripStatement(std::string_view sql);
// "(expr)" unless `expr` is already one parenthesised whole.
std::string Parenthesized(const std::string& expr);
// "" or " WITH (fillfactor=70, ...)"; values that are not plain words are quoted.
std::string WithClause(const std::vector<std::string>& options);
// `definition` plus " NOT VALID" when not validated and the definition does not say so.
std::string WithNotValid(const std::string& definition, bool validated);

// A name as written in SQL text: "a", "s.a", "\"Odd\".b"; `call` when followed by "(".
struct Token {
  std::string text;
  bool call = false;
};
// The (possibly qualified) names in `sql`, skipping literals, comments and numbers.
std::vector<Token> Tokens(std::string_view sql);

// Maps the spellings of a reference to objects: "schema.name" (quote_ident rules) and,
// for objects in public, the bare name.
class Names {
 public:
  void Add(const std::string& schema, const std::string& name, int id);
  // Ids spelled `ref`; bare names only count when `allow_bare`.
  std::vector<int> Find(const std::string& ref, bool allow_bare = true) const;

 private:
  std::map<std::string, std::vector<int>> ids_;
};

// `deps[i]` lists nodes that must come before i. Returns all nodes; ties (and cycles,
// broken at the lowest remaining index) follow index order.
std::vector<int> TopoSort(const std::vector<std::vector<int>>& deps);

// ddl_order.cc: the creation order.
struct TypeStep {
  const Domain* domain = nullptr;
  const CompositeType* composite = nullptr;
};
struct LateStep {
  const View* view = nullptr;
  const Function* function = nullptr;
};
struct Plan {
  std::vector<TypeStep> types;                   // domains and composites, dependencies first
  std::vector<const Function*> early_functions;  // need no table or view (and aggregates)
  std::vector<const Function*> table_functions;  // need tables but no view
  std::vector<const Table*> tables;              // parents and row types first
  std::vector<LateStep> late;                    // views and the functions that need them
  std::map<std::string, const Table*> by_name;   // tables by QualifiedName()
  std::map<const Table*, int> depth;             // partition depth (0: not a partition)
  std::set<std::string> functions;               // spellings of every function
  std::set<std::string> late_functions;          // spellings of functions created after tables
};
Plan MakePlan(const Snapshot& s);
// Whether `expr` calls one of `functions` (spellings as in Plan).
bool Calls(std::string_view expr, const std::set<std::string>& functions);

// ddl_objects.cc
void EmitSchemas(const Snapshot& s, Sql& out);
void EmitExtensions(const Snapshot& s, Sql& out);
void EmitTypes(const Snapshot& s, const Plan& plan, Sql& out);
void EmitSequences(const Snapshot& s, Sql& out);
void EmitSequenceOwnership(const Snapshot& s, Sql& out);
void EmitFunction(const Function& f, Sql& out);
void EmitView(const View& v, Sql& out);
void EmitMaterializedViewIndexes(const Snapshot& s, Sql& out);
void EmitDomainLate(const Snapshot& s, const Plan& plan, Sql& out);

// ddl_tables.cc
void EmitTables(const Plan& plan, Sql& out);
void EmitDeferredDefaults(const Plan& plan, Sql& out);

// ddl_keys.cc
void EmitKeysAndIndexes(const Plan& plan, Sql& out);
void EmitForeignKeys(const Plan& plan, Sql& out);
void EmitChecks(const Plan& plan, Sql& out);
void EmitTriggers(const Plan& plan, Sql& out);
void EmitRowSecurity(const Plan& plan, Sql& out);

// ddl_annotations.cc
void EmitComments(const Snapshot& s, Sql& out);
void EmitGrants(const Snapshot& s, Sql& out);

}  // namespace ddl_internal

}  // namespace pgk::schema
