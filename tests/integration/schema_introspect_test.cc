// Schema introspection against a real server: the every-kind fixture
// (tests/fixtures/every_kind.sql) field by field, determinism across sessions and
// databases, quoting, an empty database, and a 1,000-table timing check.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>

#include "common/fs.h"
#include "common/hash.h"
#include "harness/harness.h"
#include "schema/introspect.h"

namespace pgk::test {

namespace {

using schema::Snapshot;

std::string FixtureSql() {
  auto path = std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures" / "every_kind.sql";
  auto text = fs::ReadFile(path);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? *text : "";
}

// A fresh database with the fixture applied.
std::string FixtureDatabase(const std::string& prefix) {
  std::string db = CreateDatabase(prefix);
  auto conn = Connect(db);
  Status st = conn.Exec(FixtureSql());
  EXPECT_TRUE(st.ok()) << st.ToString();
  return db;
}

std::optional<Snapshot> IntrospectDb(const std::string& db, const std::string& session_setup = "") {
  auto conn = Connect(db);
  if (!session_setup.empty()) {
    EXPECT_TRUE(conn.Exec(session_setup).ok());
  }
  auto s = schema::Introspect(conn);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return std::nullopt;
  return std::move(s).value();
}

// The element of `v` named `name` (and in `schema`, for schema objects), or nullptr.
template <typename T>
const T* Named(const std::vector<T>& v, const std::string& name) {
  for (const auto& x : v) {
    if (x.name == name) return &x;
  }
  return nullptr;
}
template <typename T>
const T* Named(const std::vector<T>& v, const std::string& schema, const std::string& name) {
  for (const auto& x : v) {
    if (x.schema == schema && x.name == name) return &x;
  }
  return nullptr;
}

template <typename T>
std::vector<std::string> Names(const std::vector<T>& v) {
  std::vector<std::string> out;
  for (const auto& x : v) out.push_back(x.name);
  return out;
}

using Strings = std::vector<std::string>;

// One database with the fixture, introspected once, shared by the tests that read it.
class EveryKind : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new std::string(FixtureDatabase("introspect_every_kind"));
    if (auto s = IntrospectDb(*db_)) snap_ = new Snapshot(std::move(*s));
  }
  void SetUp() override { ASSERT_NE(snap_, nullptr) << "introspection of the fixture failed"; }

  const schema::Table& Table(const std::string& schema, const std::string& name) {
    const schema::Table* t = Named(snap_->tables, schema, name);
    EXPECT_NE(t, nullptr) << schema << "." << name;
    static const schema::Table kNone;
    return t ? *t : kNone;
  }

  static inline std::string* db_ = nullptr;
  static inline Snapshot* snap_ = nullptr;
};

TEST_F(EveryKind, SchemasAndExtensions) {
  EXPECT_EQ(Names(snap_->schemas), (Strings{"Odd Schema", "app", "public", "ünïcode"}));
  const auto* app = Named(snap_->schemas, "app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->comment, "application objects");
  EXPECT_EQ(app->grants, (std::vector<schema::Grant>{{"pgk_fixture_reader", "USAGE", false}}));
  EXPECT_EQ(Named(snap_->schemas, "Odd Schema")->grants,
            (std::vector<schema::Grant>{{"PUBLIC", "CREATE", false}, {"PUBLIC", "USAGE", false}}));
  EXPECT_EQ(Names(snap_->extensions), (Strings{"btree_gist", "file_fdw", "pg_trgm", "plpgsql"}));
  EXPECT_EQ(Named(snap_->extensions, "pg_trgm")->schema, "public");
  EXPECT_EQ(Named(snap_->extensions, "plpgsql")->schema, "pg_catalog");
}

TEST_F(EveryKind, ExtensionMembersAreLeftOut) {
  // pg_trgm and btree_gist bring hundreds of functions, base types and operator classes.
  for (const auto& f : snap_->functions) EXPECT_NE(f.schema, "public") << f.Signature();
  std::set<std::string> kinds;
  for (const auto& [k, n] : snap_->not_compared) kinds.insert(k);
  EXPECT_FALSE(kinds.count("base types"));
  EXPECT_FALSE(kinds.count("operator classes"));
  EXPECT_FALSE(kinds.count("foreign data wrappers"));
  EXPECT_EQ(snap_->not_compared.at("operators"), 1);  // only app.=~=, none of the extensions'
}

TEST_F(EveryKind, Types) {
  const auto* mood = Named(snap_->enums, "app", "mood");
  ASSERT_NE(mood, nullptr);
  EXPECT_EQ(mood->labels, (Strings{"sad", "meh", "ok", "happy"}));  // enumsortorder, not creation order
  EXPECT_EQ(mood->comment, "how it feels");
  const auto* light = Named(snap_->enums, "Odd Schema", "Traffic Light");
  ASSERT_NE(light, nullptr);
  EXPECT_EQ(light->labels, (Strings{"red", "amber", "green", "with space"}));

  const auto* amount = Named(snap_->domains, "app", "positive_amount");
  ASSERT_NE(amount, nullptr);
  EXPECT_EQ(amount->base_type, "numeric(12,2)");
  EXPECT_TRUE(amount->not_null);
  EXPECT_EQ(amount->default_expr, "0");
  EXPECT_EQ(amount->collation, std::nullopt);
  ASSERT_EQ(amount->constraints.size(), 2u);
  EXPECT_EQ(amount->constraints[0].name, "below_limit");
  EXPECT_FALSE(amount->constraints[0].validated);
  EXPECT_EQ(amount->constraints[1].definition, "CHECK ((VALUE >= (0)::numeric))");
  EXPECT_TRUE(amount->constraints[1].validated);
  EXPECT_EQ(amount->comment, "money that cannot go negative");
  const auto* code = Named(snap_->domains, "app", "code");
  ASSERT_NE(code, nullptr);
  EXPECT_EQ(code->collation, "\"C\"");
  EXPECT_FALSE(code->not_null);

  // Composite types only: no table, view or sequence row types.
  ASSERT_EQ(snap_->composites.size(), 1u);
  const auto& address = snap_->composites[0];
  EXPECT_EQ(address.name, "address");
  EXPECT_EQ(address.comment, "postal address");
  EXPECT_EQ(address.attributes, (std::vector<schema::CompositeAttribute>{{"street", "text", std::nullopt},
                                                                         {"city", "character varying(40)", "\"C\""},
                                                                         {"zip", "integer", std::nullopt}}));
}

TEST_F(EveryKind, Sequences) {
  // Identity columns' sequences (customers_id_seq, orders_id_seq) are part of the column.
  EXPECT_EQ(Names(snap_->sequences), (Strings{"Odd Seq", "invoice_numbers", "orders_serial_no_seq"}));
  const auto* inv = Named(snap_->sequences, "app", "invoice_numbers");
  ASSERT_NE(inv, nullptr);
  EXPECT_EQ(inv->type, "integer");
  EXPECT_EQ(inv->start, 1000);
  EXPECT_EQ(inv->increment, 5);
  EXPECT_EQ(inv->min_value, 1000);
  EXPECT_EQ(inv->max_value, 999999);
  EXPECT_EQ(inv->cache, 10);
  EXPECT_TRUE(inv->cycle);
  EXPECT_EQ(inv->owned_by, std::nullopt);
  EXPECT_EQ(inv->comment, "invoice numbers");
  EXPECT_EQ(inv->grants, (std::vector<schema::Grant>{{"pgk_fixture_reader", "USAGE", false}}));
  EXPECT_EQ(Named(snap_->sequences, "app", "orders_serial_no_seq")->owned_by, "app.orders.serial_no");
  EXPECT_EQ(Named(snap_->sequences, "Odd Schema", "Odd Seq")->owned_by,
            "\"Odd Schema\".\"we\"\"ird Table\".\"select\"");
}

TEST_F(EveryKind, Columns) {
  const auto& t = Table("app", "customers");
  ASSERT_EQ(t.columns.size(), 12u);
  const auto& id = t.columns[0];
  EXPECT_EQ(id.name, "id");
  EXPECT_EQ(id.type, "bigint");
  EXPECT_EQ(id.identity, "always");
  EXPECT_EQ(id.default_expr, std::nullopt);
  EXPECT_TRUE(id.not_null);
  const auto* name = Named(t.columns, "name");
  EXPECT_EQ(name->type, "character varying(20)");
  EXPECT_EQ(name->collation, "\"C\"");
  EXPECT_EQ(Named(t.columns, "code")->type, "app.code");
  EXPECT_EQ(Named(t.columns, "code")->collation, std::nullopt);  // the domain's own collation
  EXPECT_EQ(Named(t.columns, "email")->collation, std::nullopt);
  EXPECT_EQ(Named(t.columns, "email")->comment, "contact address");
  EXPECT_EQ(Named(t.columns, "mood")->default_expr, "'ok'::app.mood");
  EXPECT_EQ(Named(t.columns, "tags")->type, "text[]");
  EXPECT_EQ(Named(t.columns, "tags")->default_expr, "'{}'::text[]");
  EXPECT_EQ(Named(t.columns, "balance")->type, "numeric(10,2)");
  EXPECT_EQ(Named(t.columns, "profile")->type, "jsonb");
  EXPECT_EQ(Named(t.columns, "created_at")->type, "timestamp with time zone");
  EXPECT_EQ(Named(t.columns, "created_at")->default_expr, "now()");
  const auto* gen = Named(t.columns, "name_lower");
  EXPECT_EQ(gen->generated, "lower((name)::text)");
  EXPECT_EQ(gen->default_expr, std::nullopt);
  EXPECT_EQ(Named(t.columns, "invoice_no")->default_expr, "nextval('app.invoice_numbers'::regclass)");
  EXPECT_EQ(Named(t.columns, "email")->grants,
            (std::vector<schema::Grant>{{"pgk_fixture_reader", "SELECT (email)", false},
                                        {"pgk_fixture_reader", "UPDATE (email)", false}}));
  EXPECT_EQ(t.grants, (std::vector<schema::Grant>{{"pgk_fixture_reader", "INSERT", true},
                                                  {"pgk_fixture_reader", "SELECT", true}}));
  EXPECT_EQ(t.options, (Strings{"autovacuum_enabled=false", "fillfactor=80"}));
  EXPECT_EQ(t.comment, "people who order");

  const auto& o = Table("app", "orders");
  EXPECT_EQ(Named(o.columns, "id")->identity, "by default");
  EXPECT_EQ(Named(o.columns, "serial_no")->default_expr, "nextval('app.orders_serial_no_seq'::regclass)");
  EXPECT_EQ(Named(o.columns, "serial_no")->identity, "");
  EXPECT_EQ(Named(o.columns, "amount")->type, "app.positive_amount");
  EXPECT_EQ(Named(o.columns, "note")->collation, "\"C\"");
}

TEST_F(EveryKind, Constraints) {
  const auto& o = Table("app", "orders");
  EXPECT_EQ(Names(o.constraints),
            (Strings{"orders_code_fk", "orders_customer_fk", "orders_no_overlap", "orders_note_check", "orders_pkey"}));
  const auto* fk = Named(o.constraints, "orders_customer_fk");
  EXPECT_EQ(fk->kind, "foreign key");
  EXPECT_EQ(fk->columns, (Strings{"customer_id"}));
  EXPECT_EQ(fk->ref_table, "app.customers");
  EXPECT_EQ(fk->ref_columns, (Strings{"id"}));
  EXPECT_EQ(fk->on_update, "cascade");
  EXPECT_EQ(fk->on_delete, "set null");
  EXPECT_EQ(fk->match, "simple");
  EXPECT_TRUE(fk->deferrable);
  EXPECT_TRUE(fk->initially_deferred);
  EXPECT_TRUE(fk->validated);
  const auto* code_fk = Named(o.constraints, "orders_code_fk");
  EXPECT_EQ(code_fk->match, "full");
  EXPECT_EQ(code_fk->on_delete, "restrict");
  EXPECT_EQ(code_fk->on_update, "no action");
  EXPECT_FALSE(code_fk->validated);
  EXPECT_EQ(code_fk->definition,
            "FOREIGN KEY (customer_code) REFERENCES app.customers(code) MATCH FULL ON DELETE RESTRICT NOT VALID");
  const auto* excl = Named(o.constraints, "orders_no_overlap");
  EXPECT_EQ(excl->kind, "exclusion");
  EXPECT_EQ(excl->columns, (Strings{"customer_id", "during"}));
  EXPECT_EQ(excl->definition, "EXCLUDE USING gist (customer_id WITH =, during WITH &&)");
  // An exclusion over an expression: the key comes from the constraint's index.
  EXPECT_EQ(Named(Table("app", "scratch").constraints, "scratch_v_excl")->columns, (Strings{"lower(v)", "k"}));
  const auto* check = Named(o.constraints, "orders_note_check");
  EXPECT_EQ(check->kind, "check");
  EXPECT_TRUE(check->no_inherit);
  const auto* pk = Named(o.constraints, "orders_pkey");
  EXPECT_EQ(pk->kind, "primary key");
  EXPECT_FALSE(pk->no_inherit);
  EXPECT_EQ(pk->definition, "PRIMARY KEY (id) INCLUDE (customer_id)");
  EXPECT_EQ(pk->ref_table, "");

  const auto& c = Table("app", "customers");
  EXPECT_EQ(Named(c.constraints, "customers_code_key")->comment, "codes are unique");
  EXPECT_EQ(Named(c.constraints, "customers_email_key")->definition, "UNIQUE NULLS NOT DISTINCT (email)");
  // Inherited CHECK constraints are marked on the child only.
  EXPECT_FALSE(Named(Table("app", "base_items").constraints, "base_items_label_check")->inherited);
  EXPECT_TRUE(Named(Table("app", "items").constraints, "base_items_label_check")->inherited);
}

TEST_F(EveryKind, Indexes) {
  const auto& c = Table("app", "customers");
  const auto* pattern = Named(c.indexes, "customers_email_pattern");
  ASSERT_NE(pattern, nullptr);
  EXPECT_EQ(pattern->keys, (Strings{"email COLLATE \"C\" text_pattern_ops"}));
  EXPECT_EQ(pattern->include, (Strings{"name", "mood"}));
  EXPECT_EQ(pattern->method, "btree");
  const auto* lower = Named(c.indexes, "customers_lower_email_idx");
  EXPECT_TRUE(lower->unique);
  EXPECT_EQ(lower->keys, (Strings{"lower(email)"}));
  EXPECT_EQ(lower->predicate, "(email IS NOT NULL)");
  EXPECT_EQ(lower->constraint, "");
  EXPECT_EQ(lower->comment, "case-insensitive email");
  EXPECT_EQ(Named(c.indexes, "customers_name_trgm")->keys, (Strings{"name public.gin_trgm_ops"}));
  EXPECT_EQ(Named(c.indexes, "customers_name_trgm")->method, "gin");
  EXPECT_EQ(Named(c.indexes, "customers_created_brin")->method, "brin");
  EXPECT_EQ(Named(c.indexes, "customers_email_hash")->method, "hash");
  const auto* nnd = Named(c.indexes, "customers_email_key");
  EXPECT_TRUE(nnd->nulls_not_distinct);
  EXPECT_EQ(nnd->constraint, "customers_email_key");
  EXPECT_EQ(Named(c.indexes, "customers_pkey")->constraint, "customers_pkey");
  EXPECT_EQ(Named(c.indexes, "customers_pkey")->definition,
            "CREATE UNIQUE INDEX customers_pkey ON app.customers USING btree (id)");

  const auto& o = Table("app", "orders");
  EXPECT_EQ(Named(o.indexes, "orders_customer_idx")->keys, (Strings{"customer_id DESC NULLS LAST", "serial_no"}));
  EXPECT_EQ(Named(o.indexes, "orders_during_gist")->method, "gist");
  EXPECT_EQ(Named(o.indexes, "orders_no_overlap")->constraint, "orders_no_overlap");
  EXPECT_EQ(Named(o.indexes, "orders_pkey")->include, (Strings{"customer_id"}));
  // Keys are split on the definition's top-level commas only.
  const auto& scratch = Table("app", "scratch");
  EXPECT_EQ(Named(scratch.indexes, "scratch_expr_idx")->keys,
            (Strings{"COALESCE(v, 'x,)\"y'::text)", "((k || ''''::text)) DESC"}));
  EXPECT_EQ(Named(scratch.indexes, "scratch_v_excl")->keys, (Strings{"lower(v)", "k"}));
}

TEST_F(EveryKind, PartitionsAndInheritance) {
  const auto& events = Table("app", "events");
  EXPECT_EQ(events.kind, "partitioned table");
  EXPECT_EQ(events.partition_key, "RANGE (happened_at)");
  EXPECT_EQ(events.partition_of, std::nullopt);
  EXPECT_FALSE(Named(events.indexes, "events_kind_idx")->inherited);
  EXPECT_FALSE(Named(events.triggers, "events_touch")->inherited);
  EXPECT_EQ(events.grants, (std::vector<schema::Grant>{{"PUBLIC", "SELECT", false}}));

  const auto& p2024 = Table("app", "events_2024");
  EXPECT_EQ(p2024.kind, "table");
  EXPECT_EQ(p2024.partition_of, "app.events");
  EXPECT_EQ(p2024.partition_bound, "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00')");
  EXPECT_TRUE(p2024.inherits.empty());
  EXPECT_TRUE(Named(p2024.indexes, "events_2024_kind_idx")->inherited);
  EXPECT_TRUE(Named(p2024.indexes, "events_2024_pkey")->inherited);
  EXPECT_TRUE(Named(p2024.constraints, "events_2024_pkey")->inherited);
  EXPECT_TRUE(Named(p2024.triggers, "events_touch")->inherited);

  const auto& p2025 = Table("app", "events_2025");
  EXPECT_EQ(p2025.kind, "partitioned table");
  EXPECT_EQ(p2025.partition_key, "LIST (kind)");
  EXPECT_EQ(p2025.partition_of, "app.events");
  EXPECT_EQ(Table("app", "events_2025_login").partition_bound, "FOR VALUES IN ('login', 'logout')");
  EXPECT_EQ(Table("app", "events_2025_login").partition_of, "app.events_2025");
  EXPECT_EQ(Table("app", "events_2025_other").partition_bound, "DEFAULT");
  EXPECT_EQ(Table("Odd Schema", "Region Sales EU").partition_of, "\"Odd Schema\".\"Region Sales\"");

  const auto& items = Table("app", "items");
  EXPECT_EQ(items.inherits, (Strings{"app.base_items", "app.extra_parent"}));  // declaration order
  EXPECT_EQ(items.partition_of, std::nullopt);
  EXPECT_EQ(Names(items.columns), (Strings{"id", "label", "flag", "price"}));
  EXPECT_TRUE(Table("app", "scratch").unlogged);
  EXPECT_FALSE(items.unlogged);
}

TEST_F(EveryKind, TriggersAndPolicies) {
  const auto& c = Table("app", "customers");
  // The foreign keys' internal RI_ConstraintTrigger_* triggers are not listed.
  EXPECT_EQ(Names(c.triggers),
            (Strings{"customers_always", "customers_audit", "customers_disabled", "customers_replica"}));
  EXPECT_EQ(Named(c.triggers, "customers_always")->enabled, "always");
  EXPECT_EQ(Named(c.triggers, "customers_audit")->enabled, "origin");
  EXPECT_EQ(Named(c.triggers, "customers_disabled")->enabled, "disabled");
  EXPECT_EQ(Named(c.triggers, "customers_replica")->enabled, "replica");
  EXPECT_EQ(Named(c.triggers, "customers_audit")->comment, "audit trail");
  EXPECT_EQ(Named(c.triggers, "customers_audit")->definition,
            "CREATE TRIGGER customers_audit AFTER UPDATE ON app.customers FOR EACH ROW WHEN ((old.* IS DISTINCT FROM "
            "new.*)) EXECUTE FUNCTION app.audit()");
  EXPECT_TRUE(Table("app", "orders").triggers.empty());

  const auto& o = Table("app", "orders");
  EXPECT_TRUE(o.rls_enabled);
  EXPECT_TRUE(o.rls_forced);
  EXPECT_FALSE(c.rls_enabled);
  EXPECT_EQ(Names(o.policies),
            (Strings{"orders_all", "orders_delete", "orders_reader", "orders_small", "orders_update"}));
  const auto* all = Named(o.policies, "orders_all");
  EXPECT_EQ(all->command, "ALL");
  EXPECT_EQ(all->roles, (Strings{"PUBLIC"}));
  EXPECT_EQ(all->using_expr, "true");
  EXPECT_EQ(all->check_expr, "(note IS NOT NULL)");
  const auto* reader = Named(o.policies, "orders_reader");
  EXPECT_EQ(reader->command, "SELECT");
  EXPECT_EQ(reader->roles, (Strings{"pgk_fixture_reader"}));
  EXPECT_EQ(reader->using_expr, "(customer_id > 0)");
  EXPECT_EQ(reader->check_expr, std::nullopt);
  EXPECT_EQ(reader->comment, "readers see real orders");
  const auto* small = Named(o.policies, "orders_small");
  EXPECT_EQ(small->command, "INSERT");
  EXPECT_FALSE(small->permissive);
  EXPECT_EQ(small->using_expr, std::nullopt);
  EXPECT_EQ(Named(o.policies, "orders_update")->command, "UPDATE");
  EXPECT_EQ(Named(o.policies, "orders_delete")->command, "DELETE");
}

TEST_F(EveryKind, Views) {
  EXPECT_EQ(Names(snap_->views),
            (Strings{"Odd View", "big_orders", "customer_names", "customer_orders", "mood_counts", "order_totals"}));
  const auto* names = Named(snap_->views, "app", "customer_names");
  EXPECT_EQ(names->columns, (Strings{"id", "name"}));
  EXPECT_EQ(names->definition, " SELECT customers.id,\n    customers.name\n   FROM app.customers;");
  EXPECT_EQ(names->depends_on, (Strings{"app.customers"}));
  EXPECT_EQ(names->comment, "just names");
  EXPECT_EQ(names->grants, (std::vector<schema::Grant>{{"pgk_fixture_reader", "SELECT", false}}));
  EXPECT_FALSE(names->materialized);
  const auto* orders = Named(snap_->views, "app", "customer_orders");
  EXPECT_EQ(orders->depends_on, (Strings{"app.customer_names", "app.orders"}));  // a view on a view
  EXPECT_EQ(orders->options, (Strings{"security_barrier=true"}));
  EXPECT_EQ(Named(snap_->views, "app", "big_orders")->options, (Strings{"check_option=local"}));
  const auto* odd = Named(snap_->views, "Odd Schema", "Odd View");
  EXPECT_EQ(odd->columns, (Strings{"Out Col"}));
  EXPECT_EQ(odd->depends_on, (Strings{"\"Odd Schema\".\"we\"\"ird Table\""}));

  const auto* totals = Named(snap_->views, "app", "order_totals");
  EXPECT_TRUE(totals->materialized);
  EXPECT_FALSE(totals->with_data);
  ASSERT_EQ(totals->indexes.size(), 1u);
  EXPECT_EQ(totals->indexes[0].name, "order_totals_customer");
  EXPECT_TRUE(totals->indexes[0].unique);
  const auto* moods = Named(snap_->views, "app", "mood_counts");
  EXPECT_TRUE(moods->with_data);
  EXPECT_EQ(moods->comment, "moods");
}

TEST_F(EveryKind, Functions) {
  std::vector<std::string> sigs;
  for (const auto& f : snap_->functions) sigs.push_back(f.Signature());
  EXPECT_EQ(sigs,
            (Strings{"\"Odd Schema\".\"Odd Func\"(\"In Arg\" text)", "app.add(a integer, b integer)",
                     "app.add(a text, b text)", "app.add_atomic(a integer, b integer)", "app.address_text(app.address)",
                     "app.audit()", "app.customer_count()", "app.on_ddl()", "app.reset_scratch(IN keep text)",
                     "app.text_concat(text)", "app.text_eq_ci(text, text)", "app.touch()"}));
  auto fn = [&](const std::string& name, const std::string& args) -> const schema::Function& {
    for (const auto& f : snap_->functions) {
      if (f.name == name && f.identity_args == args) return f;
    }
    ADD_FAILURE() << name << "(" << args << ")";
    static const schema::Function kNone;
    return kNone;
  };
  const auto& add = fn("add", "a integer, b integer");
  EXPECT_EQ(add.kind, "function");
  EXPECT_EQ(add.result, "integer");
  EXPECT_EQ(add.language, "sql");
  EXPECT_EQ(add.volatility, "immutable");
  EXPECT_TRUE(add.strict);
  EXPECT_EQ(add.body_hash, "sha256:" + Sha256Hex("SELECT a + b"));
  EXPECT_EQ(add.comment, "adds");
  EXPECT_EQ(add.definition.rfind("CREATE OR REPLACE FUNCTION app.add(a integer, b integer DEFAULT 1)", 0), 0u);
  // A SQL-standard body has no prosrc: the definition is hashed instead.
  const auto& atomic = fn("add_atomic", "a integer, b integer");
  EXPECT_NE(atomic.definition.find("BEGIN ATOMIC"), std::string::npos);
  EXPECT_EQ(atomic.body_hash, "sha256:" + Sha256Hex(atomic.definition));
  const auto& count = fn("customer_count", "");
  EXPECT_TRUE(count.security_definer);
  EXPECT_EQ(count.volatility, "stable");
  EXPECT_EQ(count.language, "plpgsql");
  // REVOKE FROM PUBLIC leaves only the explicit grant (the owner's own entry is skipped).
  EXPECT_EQ(count.grants, (std::vector<schema::Grant>{{"pgk_fixture_reader", "EXECUTE", false}}));
  const auto& proc = fn("reset_scratch", "IN keep text");
  EXPECT_EQ(proc.kind, "procedure");
  EXPECT_EQ(proc.result, "");
  const auto& agg = fn("text_concat", "text");
  EXPECT_EQ(agg.kind, "aggregate");
  // Assembled from pg_aggregate (pg_get_functiondef refuses aggregates).
  EXPECT_EQ(agg.definition, "CREATE AGGREGATE app.text_concat(text) (\n    SFUNC = textcat,\n    STYPE = text,\n    INITCOND = ''\n)");
  EXPECT_EQ(fn("audit", "").volatility, "volatile");
  EXPECT_TRUE(fn("audit", "").grants.empty());  // default privileges are not listed
  EXPECT_EQ(fn("Odd Func", "\"In Arg\" text").result, "SETOF text");
}

TEST_F(EveryKind, NotCompared) {
  EXPECT_EQ(snap_->not_compared, (std::map<std::string, int64_t>{{"casts", 1},
                                                                 {"collations", 1},
                                                                 {"event triggers", 1},
                                                                 {"foreign servers", 1},
                                                                 {"foreign tables", 1},
                                                                 {"large objects", 1},
                                                                 {"operators", 1},
                                                                 {"owners", 0},
                                                                 {"publications", 1},
                                                                 {"rules", 1},
                                                                 {"statistics objects", 1},
                                                                 {"text search configurations", 1},
                                                                 {"view triggers", 1}}));
  EXPECT_EQ(Named(snap_->tables, "app", "imported"), nullptr);  // the foreign table
}

TEST_F(EveryKind, AwkwardNamesArePreserved) {
  const auto& weird = Table("Odd Schema", "we\"ird Table");
  EXPECT_EQ(weird.QualifiedName(), "\"Odd Schema\".\"we\"\"ird Table\"");
  EXPECT_EQ(Names(weird.columns), (Strings{"Mixed Case", "select", "ünï col"}));
  EXPECT_EQ(Named(weird.columns, "ünï col")->default_expr, "'ü'::text");
  EXPECT_EQ(weird.comment, "quotes, spaces and upper case");
  EXPECT_EQ(Named(weird.indexes, "we\"ird Table_pkey")->keys, (Strings{"\"Mixed Case\""}));
  const auto& test = Table("ünïcode", "tëst");
  const auto* fk = Named(test.constraints, "Ref FK");
  ASSERT_NE(fk, nullptr);
  EXPECT_EQ(fk->ref_table, weird.QualifiedName());
  EXPECT_EQ(fk->ref_columns, (Strings{"Mixed Case"}));
  EXPECT_EQ(fk->on_delete, "cascade");
  EXPECT_EQ(Named(test.columns, "light")->type, "\"Odd Schema\".\"Traffic Light\"");
  EXPECT_EQ(Table("Odd Schema", "Region Sales").kind, "partitioned table");
}

// References are built with the model's Qualified(); they must read as PostgreSQL's own
// quote_ident would write them, or at worst quote more (never less).
TEST_F(EveryKind, QualifiedNamesAgreeWithQuoteIdent) {
  auto conn = Connect(*db_);
  auto res = conn.Query(
      "SELECT n.nspname, c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') "
      "AND n.nspname IN ('app', 'Odd Schema', 'ünïcode')");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  ASSERT_GT(res->rows(), 20);
  for (int r = 0; r < res->rows(); ++r) {
    EXPECT_EQ(schema::Qualified(res->GetString(r, 0), res->GetString(r, 1)), res->GetString(r, 2));
  }
  auto kw = conn.Query("SELECT word FROM pg_get_keywords() WHERE quote_ident(word) <> word");
  ASSERT_TRUE(kw.ok());
  for (int r = 0; r < kw->rows(); ++r) {
    EXPECT_EQ(schema::QuoteIdentIfNeeded(kw->GetString(r, 0)), "\"" + kw->GetString(r, 0) + "\"");
  }
}

TEST_F(EveryKind, DeterministicAcrossSessionsAndDatabases) {
  auto again = IntrospectDb(*db_);
  ASSERT_TRUE(again);
  EXPECT_TRUE(*again == *snap_);
  // Session settings that change how the catalog prints names and constants.
  auto odd_session = IntrospectDb(*db_,
                                  "SET search_path = app, \"Odd Schema\", public; SET TimeZone = 'America/New_York'; "
                                  "SET DateStyle = 'SQL, DMY'; SET extra_float_digits = 3");
  ASSERT_TRUE(odd_session);
  EXPECT_TRUE(*odd_session == *snap_);
  // The same script in another database: other OIDs, same snapshot.
  auto other = IntrospectDb(FixtureDatabase("introspect_every_kind_again"));
  ASSERT_TRUE(other);
  EXPECT_TRUE(*other == *snap_);
}

TEST(SchemaIntrospect, EmptyDatabase) {
  auto s = IntrospectDb(CreateDatabase("introspect_empty"));
  ASSERT_TRUE(s);
  EXPECT_EQ(Names(s->schemas), (Strings{"public"}));
  EXPECT_EQ(Names(s->extensions), (Strings{"plpgsql"}));
  EXPECT_TRUE(s->tables.empty());
  EXPECT_TRUE(s->views.empty());
  EXPECT_TRUE(s->functions.empty());
  EXPECT_TRUE(s->sequences.empty());
  EXPECT_EQ(s->not_compared, (std::map<std::string, int64_t>{{"owners", 0}}));
}

TEST(SchemaIntrospect, RefusesAnOpenTransaction) {
  auto conn = Connect(CreateDatabase("introspect_in_tx"));
  ASSERT_TRUE(conn.Exec("BEGIN").ok());
  auto s = schema::Introspect(conn);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(conn.in_transaction());  // the caller's transaction is left alone
  ASSERT_TRUE(conn.Exec("ROLLBACK").ok());
  EXPECT_TRUE(schema::Introspect(conn).ok());
  EXPECT_FALSE(conn.in_transaction());
}

// A fixed number of catalog queries, whatever the number of tables: 1,000 tables take
// well under a second on a local server. The 5 s bound only catches a query per table.
TEST(SchemaIntrospect, ThousandTables) {
  std::string db = CreateDatabase("introspect_thousand");
  auto conn = Connect(db);
  std::string sql;
  for (int i = 0; i < 1000; ++i) {
    std::string t = "t" + std::to_string(i);
    sql += "CREATE TABLE " + t + " (id integer PRIMARY KEY, v integer NOT NULL, at timestamptz DEFAULT now());" +
           "CREATE INDEX " + t + "_v ON " + t + " (v);";
  }
  ASSERT_TRUE(conn.Exec(sql).ok());
  auto start = std::chrono::steady_clock::now();
  auto s = schema::Introspect(conn);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  RecordProperty("introspect_1000_tables_ms", static_cast<int>(ms));
  std::printf("introspecting 1,000 tables took %lld ms\n", static_cast<long long>(ms));
  ASSERT_EQ(s->tables.size(), 1000u);
  for (const auto& t : s->tables) {
    ASSERT_EQ(t.columns.size(), 3u) << t.name;
    ASSERT_EQ(t.constraints.size(), 1u) << t.name;
    ASSERT_EQ(t.indexes.size(), 2u) << t.name;
  }
  EXPECT_LT(ms, 5000);
}

}  // namespace

}  // namespace pgk::test
