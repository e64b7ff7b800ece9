// The schema model: one in-memory description of a database's schema, introspected from
// pg_catalog (introspect.h), serialised to a stable JSON snapshot (json.h), compared
// (diff.h) and turned back into DDL (ddl.h).
//
// Rules that keep snapshots diff-friendly and comparable across servers:
//   - no OIDs, no sizes, statistics or other volatile values; no owners (they differ
//     between environments and are listed under "not compared");
//   - every collection is sorted by name (tables by schema then name, functions by schema,
//     name, then identity arguments); columns keep their table order;
//   - definitions are PostgreSQL's own renderings (pg_get_indexdef, pg_get_constraintdef,
//     pg_get_viewdef, pg_get_functiondef, pg_get_triggerdef, pg_get_expr, format_type),
//     so equal objects have equal text whichever tool created them;
//   - names are stored unquoted, exactly as in the catalog; qualified names in references
//     are "schema.name" with each part quoted only when PostgreSQL would quote it
//     (quote_ident), so they can be pasted into SQL.
// System schemas (pg_catalog, information_schema, pg_toast*, pg_temp*) and objects that
// belong to extensions are left out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pgk::schema {

struct Grant {
  std::string grantee;    // role name, or "PUBLIC"
  std::string privilege;  // SELECT, INSERT, ..., USAGE, EXECUTE (column grants: "SELECT (col)")
  bool grantable = false;
  bool operator==(const Grant&) const = default;
};

struct Column {
  std::string name;
  std::string type;                      // format_type(atttypid, atttypmod), e.g. "character varying(20)"
  bool not_null = false;
  std::optional<std::string> default_expr;  // pg_get_expr(adbin); absent for identity/generated
  std::string identity;                  // "" | "always" | "by default"
  std::optional<std::string> generated;  // stored generated expression
  std::optional<std::string> collation;  // only when it differs from the type's default, quoted/qualified
  std::optional<std::string> comment;
  std::vector<Grant> grants;             // column-level privileges
  bool operator==(const Column&) const = default;
};

struct Constraint {
  std::string name;
  std::string kind;        // "primary key" | "unique" | "foreign key" | "check" | "exclusion"
  std::string definition;  // pg_get_constraintdef(oid), e.g. "FOREIGN KEY (a) REFERENCES public.t(id) ON DELETE CASCADE"
  std::vector<std::string> columns;  // constrained columns, in key order (empty for table-level checks)
  // Foreign keys only:
  std::string ref_table;   // qualified, e.g. "public.institutions"
  std::vector<std::string> ref_columns;
  std::string on_update;   // "no action" | "restrict" | "cascade" | "set null" | "set default"
  std::string on_delete;
  std::string match;       // "simple" | "full" | "partial"
  bool deferrable = false;
  bool initially_deferred = false;
  bool validated = true;   // false: NOT VALID
  bool no_inherit = false;
  bool inherited = false;  // inherited from a parent (conislocal false): not emitted on the child
  std::optional<std::string> comment;
  bool operator==(const Constraint&) const = default;
};

struct Index {
  std::string name;
  std::string definition;  // pg_get_indexdef(oid): "CREATE [UNIQUE] INDEX name ON schema.table USING method (...)"
  std::string method;      // btree, hash, gin, gist, brin, spgist
  bool unique = false;
  bool nulls_not_distinct = false;
  std::vector<std::string> keys;     // column names or expressions, with opclass/order when not default
  std::vector<std::string> include;  // INCLUDE columns
  std::optional<std::string> predicate;  // partial index WHERE
  std::string constraint;  // name of the constraint this index implements ("" if none): not emitted separately
  bool inherited = false;  // a partition's index attached to a parent index: not emitted on the partition
  std::optional<std::string> comment;
  bool operator==(const Index&) const = default;
};

struct Trigger {
  std::string name;
  std::string definition;  // pg_get_triggerdef(oid)
  std::string enabled;     // "origin" (default) | "disabled" | "replica" | "always"
  bool inherited = false;  // clone of a parent's trigger on a partition
  std::optional<std::string> comment;
  bool operator==(const Trigger&) const = default;
};

struct Policy {
  std::string name;
  std::string command;      // ALL | SELECT | INSERT | UPDATE | DELETE
  bool permissive = true;
  std::vector<std::string> roles;  // sorted; "PUBLIC" for public
  std::optional<std::string> using_expr;
  std::optional<std::string> check_expr;
  std::optional<std::string> comment;
  bool operator==(const Policy&) const = default;
};

struct Table {
  std::string schema;
  std::string name;
  std::string kind = "table";  // "table" | "partitioned table"
  bool unlogged = false;
  std::optional<std::string> partition_key;   // pg_get_partkeydef, e.g. "RANGE (created_at)"
  std::optional<std::string> partition_of;    // qualified parent when this is a partition
  std::optional<std::string> partition_bound; // pg_get_expr(relpartbound), e.g. "FOR VALUES FROM (...) TO (...)"
  std::vector<std::string> inherits;          // qualified parents (classic inheritance), in inhseqno order
  std::vector<Column> columns;                // in attnum order, dropped columns skipped
  std::vector<Constraint> constraints;        // sorted by name
  std::vector<Index> indexes;                 // sorted by name
  std::vector<Trigger> triggers;              // sorted by name
  std::vector<Policy> policies;               // sorted by name
  bool rls_enabled = false;
  bool rls_forced = false;
  std::vector<std::string> options;           // reloptions, e.g. "fillfactor=70"
  std::optional<std::string> comment;
  std::vector<Grant> grants;                  // sorted
  std::string QualifiedName() const;
  bool operator==(const Table&) const = default;
};

struct Sequence {
  std::string schema;
  std::string name;
  std::string type = "bigint";
  int64_t start = 1;
  int64_t increment = 1;
  int64_t min_value = 1;
  int64_t max_value = 0;
  int64_t cache = 1;
  bool cycle = false;
  std::optional<std::string> owned_by;  // "schema.table.column" (quote_ident parts); identity sequences are not listed
  std::optional<std::string> comment;
  std::vector<Grant> grants;
  std::string QualifiedName() const;
  bool operator==(const Sequence&) const = default;
};

struct View {
  std::string schema;
  std::string name;
  bool materialized = false;
  std::string definition;                // pg_get_viewdef(oid, true)
  std::vector<std::string> columns;      // output column names, in order
  std::vector<std::string> options;      // reloptions, e.g. "security_barrier=true", "check_option=local"
  std::vector<Index> indexes;            // materialized views only
  std::vector<std::string> depends_on;   // qualified relations/views it reads (for DDL ordering)
  bool with_data = true;                 // materialized: populated
  std::optional<std::string> comment;
  std::vector<Grant> grants;
  std::string QualifiedName() const;
  bool operator==(const View&) const = default;
};

struct Function {
  std::string schema;
  std::string name;
  std::string identity_args;  // pg_get_function_identity_arguments, e.g. "a integer, b text"
  std::string kind;           // "function" | "procedure" | "aggregate" | "window"
  std::string result;         // pg_get_function_result ("" for procedures)
  std::string language;
  std::string volatility;     // "immutable" | "stable" | "volatile"
  bool security_definer = false;
  bool strict = false;
  std::string body_hash;      // "sha256:<hex>" of prosrc (or of the SQL-standard body)
  std::string definition;     // pg_get_functiondef (CREATE OR REPLACE ...); "" for aggregates
  std::optional<std::string> comment;
  std::vector<Grant> grants;
  std::string Signature() const;  // schema.name(identity_args)
  bool operator==(const Function&) const = default;
};

struct EnumType {
  std::string schema;
  std::string name;
  std::vector<std::string> labels;  // in sort order
  std::optional<std::string> comment;
  bool operator==(const EnumType&) const = default;
};

struct DomainConstraint {
  std::string name;
  std::string definition;  // pg_get_constraintdef, e.g. "CHECK (VALUE > 0)"
  bool validated = true;
  bool operator==(const DomainConstraint&) const = default;
};

struct Domain {
  std::string schema;
  std::string name;
  std::string base_type;  // format_type
  bool not_null = false;
  std::optional<std::string> default_expr;
  std::optional<std::string> collation;
  std::vector<DomainConstraint> constraints;  // sorted by name
  std::optional<std::string> comment;
  bool operator==(const Domain&) const = default;
};

struct CompositeAttribute {
  std::string name;
  std::string type;
  std::optional<std::string> collation;
  bool operator==(const CompositeAttribute&) const = default;
};

struct CompositeType {
  std::string schema;
  std::string name;
  std::vector<CompositeAttribute> attributes;  // in order
  std::optional<std::string> comment;
  bool operator==(const CompositeType&) const = default;
};

struct Extension {
  std::string name;
  std::string schema;
  std::string version;
  bool operator==(const Extension&) const = default;
};

struct SchemaNs {
  std::string name;
  std::optional<std::string> comment;
  std::vector<Grant> grants;
  bool operator==(const SchemaNs&) const = default;
};

struct Snapshot {
  int format = 1;
  std::vector<SchemaNs> schemas;          // sorted by name; "public" included
  std::vector<Extension> extensions;      // sorted by name
  std::vector<EnumType> enums;            // sorted by schema, name
  std::vector<Domain> domains;
  std::vector<CompositeType> composites;
  std::vector<Sequence> sequences;
  std::vector<Table> tables;              // partitions are tables too
  std::vector<View> views;                // views and materialized views
  std::vector<Function> functions;        // functions, procedures, aggregates
  // Object kinds present in the database that the model does not cover, with counts,
  // e.g. {"event triggers", 1}, {"rules", 2}, {"foreign tables", 1}, {"publications", 1},
  // {"statistics objects", 1}, {"collations", 1}, {"operators", 3}, {"casts", 1},
  // {"text search configurations", 1}, {"foreign servers", 1}, {"owners", 0 (always listed)}.
  std::map<std::string, int64_t> not_compared;
  bool operator==(const Snapshot&) const = default;
};

// "name" or "\"Odd Name\"": PostgreSQL's quote_ident rules (quote unless all lower-case
// letters, digits and underscores, not starting with a digit, and not a reserved keyword).
std::string QuoteIdentIfNeeded(const std::string& name);
std::string Qualified(const std::string& schema, const std::string& name);

// Sorts every collection into the canonical order described above.
void Canonicalize(Snapshot& s);

}  // namespace pgk::schema
