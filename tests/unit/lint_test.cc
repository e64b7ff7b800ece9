#include "migrate/lint.h"

#include <gtest/gtest.h>

#include <set>

namespace pgk::migrate {
namespace {

using Strings = std::vector<std::string>;

// Rule ids found in a transactional migration (or a no-transaction one), in order.
Strings Rules(std::string_view sql, bool no_transaction = false) {
  Strings out;
  for (const LintFinding& f : LintMigration("0001_test.up.sql", sql, no_transaction)) out.push_back(f.rule);
  return out;
}

LintFinding Only(std::string_view sql, bool no_transaction = false) {
  auto findings = LintMigration("0001_test.up.sql", sql, no_transaction);
  EXPECT_EQ(findings.size(), 1u) << sql;
  return findings.empty() ? LintFinding{} : findings[0];
}

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(LintRules, IdsAreUniqueAndNamed) {
  std::set<std::string> ids;
  for (const LintRule& r : LintRules()) {
    EXPECT_TRUE(ids.insert(r.id).second) << r.id;
    EXPECT_STRNE(r.summary, "");
  }
  EXPECT_EQ(ids.size(), 16u);
  EXPECT_STREQ(LintSeverityName(LintSeverity::kError), "error");
  EXPECT_STREQ(LintSeverityName(LintSeverity::kWarning), "warning");
}

TEST(Lint, FindingCarriesFileLineRuleAndSeverity) {
  auto f = Only("SELECT 1;\n\n-- index it\nCREATE INDEX idx_orders_user ON orders (user_id);\n");
  EXPECT_EQ(f.file, "0001_test.up.sql");
  EXPECT_EQ(f.line, 4);
  EXPECT_EQ(f.rule, "create-index-not-concurrently");
  EXPECT_EQ(f.severity, LintSeverity::kError);
  EXPECT_TRUE(Has(f.message, "idx_orders_user")) << f.message;
  EXPECT_TRUE(Has(f.message, "orders")) << f.message;
  EXPECT_TRUE(Has(f.suggestion, "CREATE INDEX CONCURRENTLY idx_orders_user ON orders (user_id)")) << f.suggestion;
  EXPECT_TRUE(Has(f.suggestion, "-- pgkeeper:no-transaction")) << f.suggestion;
}

TEST(Lint, SafeMigrationHasNoFindings) {
  EXPECT_EQ(Rules("CREATE TABLE audit (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());\n"
                  "ALTER TABLE orders ADD COLUMN note text;\n"
                  "ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';\n"
                  "ALTER TABLE orders ADD COLUMN created timestamptz DEFAULT now();\n"
                  "ALTER TABLE orders ADD COLUMN seen timestamptz DEFAULT current_timestamp;\n"
                  "ALTER TABLE orders ALTER COLUMN note SET DEFAULT 'x', ALTER COLUMN note DROP NOT NULL;\n"
                  "ALTER TABLE orders DROP CONSTRAINT old_check, VALIDATE CONSTRAINT orders_user_fk;\n"
                  "ALTER TABLE orders RENAME CONSTRAINT a TO b;\n"
                  "UPDATE orders SET note = 'DROP TABLE x; VACUUM FULL';\n"
                  "ANALYZE orders;\n"),
            Strings{});
}

TEST(Lint, CreateIndexNotConcurrently) {
  EXPECT_EQ(Rules("create unique index if not exists ix on app.orders using btree (lower(email));"),
            Strings{"create-index-not-concurrently"});
  auto f = Only("CREATE UNIQUE INDEX ON ONLY orders (a);");
  EXPECT_TRUE(Has(f.message, "CREATE UNIQUE INDEX ON orders")) << f.message;
  EXPECT_TRUE(Has(f.suggestion, "CREATE UNIQUE INDEX CONCURRENTLY ON ONLY orders (a)")) << f.suggestion;
  EXPECT_EQ(Rules("CREATE INDEX CONCURRENTLY ix ON orders (a);", true), Strings{});
}

TEST(Lint, ConcurrentlyInTransaction) {
  EXPECT_EQ(Rules("CREATE INDEX CONCURRENTLY ix ON orders (a);"), Strings{"concurrently-in-transaction"});
  EXPECT_EQ(Rules("DROP INDEX CONCURRENTLY IF EXISTS ix;"), Strings{"concurrently-in-transaction"});
  EXPECT_EQ(Rules("REINDEX INDEX CONCURRENTLY ix;"), Strings{"concurrently-in-transaction"});
  EXPECT_EQ(Rules("REINDEX (VERBOSE, CONCURRENTLY) TABLE orders;"), Strings{"concurrently-in-transaction"});
  EXPECT_EQ(Rules("ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;"),
            Strings{"concurrently-in-transaction"});
  auto f = Only("CREATE INDEX CONCURRENTLY ix ON orders (a);");
  EXPECT_TRUE(Has(f.message, "transaction block")) << f.message;
  EXPECT_TRUE(Has(f.suggestion, "-- pgkeeper:no-transaction` the first line")) << f.suggestion;
  // The same statements are fine where the file opts out of the transaction.
  EXPECT_EQ(Rules("DROP INDEX CONCURRENTLY ix; REINDEX TABLE CONCURRENTLY orders;\n"
                  "ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;",
                  true),
            Strings{});
  EXPECT_EQ(Rules("DROP INDEX ix; ALTER TABLE events DETACH PARTITION events_2020;"), Strings{});
}

TEST(Lint, AddColumnNotNullWithoutDefault) {
  auto f = Only("ALTER TABLE users ADD COLUMN email text NOT NULL;");
  EXPECT_EQ(f.rule, "add-column-not-null-without-default");
  EXPECT_EQ(f.severity, LintSeverity::kError);
  EXPECT_TRUE(Has(f.message, "users")) << f.message;
  EXPECT_TRUE(Has(f.message, "email")) << f.message;
  EXPECT_TRUE(Has(f.suggestion, "ADD COLUMN email text NOT NULL DEFAULT")) << f.suggestion;
  EXPECT_TRUE(Has(f.suggestion, "CHECK (email IS NOT NULL) NOT VALID")) << f.suggestion;
  EXPECT_EQ(Rules("ALTER TABLE users ADD email varchar(10) CONSTRAINT nn NOT NULL COLLATE \"C\";"),
            Strings{"add-column-not-null-without-default"});
  EXPECT_EQ(Rules("ALTER TABLE users ADD COLUMN id int PRIMARY KEY;"), Strings{"add-column-not-null-without-default"});
  EXPECT_EQ(Rules("ALTER TABLE users ADD COLUMN a int NOT NULL DEFAULT NULL;"),
            Strings{"add-column-not-null-without-default"});
  EXPECT_EQ(Rules("ALTER TABLE users ADD COLUMN a int DEFAULT 0 NOT NULL;"), Strings{});
  EXPECT_EQ(Rules("ALTER TABLE users ADD COLUMN a int REFERENCES t (id) NOT DEFERRABLE;"), Strings{});
  EXPECT_EQ(Rules("ALTER TABLE users ADD COLUMN a int GENERATED ALWAYS AS (b * 2) STORED NOT NULL;"), Strings{});
}

TEST(Lint, AddColumnVolatileDefault) {
  for (const char* fn : {"random()", "clock_timestamp()", "gen_random_uuid()", "public.uuid_generate_v4()",
                         "nextval('s')", "(random() * 10)::int"}) {
    std::string sql = std::string("ALTER TABLE sessions ADD COLUMN token uuid DEFAULT ") + fn + ";";
    EXPECT_EQ(Rules(sql), Strings{"add-column-volatile-default"}) << sql;
  }
  auto f = Only("ALTER TABLE sessions ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();");
  EXPECT_EQ(f.severity, LintSeverity::kWarning);
  EXPECT_TRUE(Has(f.message, "gen_random_uuid()")) << f.message;
  EXPECT_TRUE(Has(f.suggestion, "ALTER TABLE sessions ALTER COLUMN token SET DEFAULT gen_random_uuid()"))
      << f.suggestion;
  // Serial and identity columns fill existing rows from a sequence.
  f = Only("ALTER TABLE sessions ADD COLUMN n bigserial;");
  EXPECT_EQ(f.rule, "add-column-volatile-default");
  EXPECT_TRUE(Has(f.suggestion, "ADD COLUMN n bigint;")) << f.suggestion;
  EXPECT_EQ(Rules("ALTER TABLE sessions ADD COLUMN n int GENERATED BY DEFAULT AS IDENTITY;"),
            Strings{"add-column-volatile-default"});
  // Stable functions are evaluated once: no rewrite.
  EXPECT_EQ(Rules("ALTER TABLE sessions ADD COLUMN t timestamptz DEFAULT now(), ADD u date DEFAULT current_date;"),
            Strings{});
  EXPECT_EQ(Rules("ALTER TABLE sessions ADD COLUMN random int DEFAULT 4;"), Strings{});
}

TEST(Lint, AlterColumnType) {
  auto f = Only("ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2) USING total::numeric;");
  EXPECT_EQ(f.rule, "alter-column-type");
  EXPECT_EQ(f.severity, LintSeverity::kError);
  EXPECT_TRUE(Has(f.message, "total")) << f.message;
  EXPECT_TRUE(Has(f.suggestion, "ADD COLUMN total_new numeric(12,2);")) << f.suggestion;
  EXPECT_EQ(Rules("ALTER TABLE orders ALTER total SET DATA TYPE bigint;"), Strings{"alter-column-type"});
  EXPECT_EQ(Rules("ALTER TABLE orders ALTER COLUMN type TYPE text;"), Strings{"alter-column-type"});
  EXPECT_EQ(Rules("ALTER TABLE orders ALTER COLUMN total SET STATISTICS 500;"), Strings{});
}

TEST(Lint, SetNotNull) {
  auto f = Only("ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;");
  EXPECT_EQ(f.rule, "set-not-null");
  EXPECT_EQ(f.severity, LintSeverity::kWarning);
  EXPECT_TRUE(Has(f.suggestion, "ADD CONSTRAINT orders_user_id_not_null CHECK (user_id IS NOT NULL) NOT VALID"))
      << f.suggestion;
  EXPECT_TRUE(Has(f.suggestion, "VALIDATE CONSTRAINT orders_user_id_not_null")) << f.suggestion;
  EXPECT_EQ(Rules("ALTER TABLE orders ALTER COLUMN user_id DROP NOT NULL;"), Strings{});
}

TEST(Lint, SetNotNullAfterAValidatedCheckIsFine) {
  // Outside a transaction, so that validating in the same file is itself fine.
  std::string add = "ALTER TABLE orders ADD CONSTRAINT uid_nn CHECK (user_id IS NOT NULL) NOT VALID;\n";
  EXPECT_EQ(Rules(add + "ALTER TABLE orders VALIDATE CONSTRAINT uid_nn;\n"
                        "ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;",
                  true),
            Strings{});
  // In one transaction the VALIDATE is flagged, but SET NOT NULL still needs no scan.
  EXPECT_EQ(Rules(add + "ALTER TABLE orders VALIDATE CONSTRAINT uid_nn;\n"
                        "ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;"),
            Strings{"validate-in-same-transaction"});
  // A check added without NOT VALID is valid at once (it is flagged itself); unnamed ones get
  // PostgreSQL's default name.
  EXPECT_EQ(Rules("ALTER TABLE orders ADD CHECK (user_id IS NOT NULL);\n"
                  "ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;"),
            Strings{"add-check-without-not-valid"});
  EXPECT_EQ(Rules("ALTER TABLE orders ADD CHECK (user_id IS NOT NULL) NOT VALID;\n"
                  "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_check;\n"
                  "ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;",
                  true),
            Strings{});
  // Not validated, or validated for another column: the scan still happens.
  EXPECT_EQ(Rules(add + "ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;"), Strings{"set-not-null"});
  EXPECT_EQ(Rules(add + "ALTER TABLE orders VALIDATE CONSTRAINT uid_nn;\n"
                        "ALTER TABLE orders ALTER COLUMN other SET NOT NULL;",
                  true),
            Strings{"set-not-null"});
}

TEST(Lint, AddForeignKeyWithoutNotValid) {
  auto f = Only("ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);");
  EXPECT_EQ(f.rule, "add-foreign-key-without-not-valid");
  EXPECT_EQ(f.severity, LintSeverity::kError);
  EXPECT_TRUE(Has(f.message, "orders_user_fk")) << f.message;
  EXPECT_TRUE(Has(f.message, "users")) << f.message;
  EXPECT_TRUE(Has(f.suggestion,
                  "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) "
                  "NOT VALID"))
      << f.suggestion;
  EXPECT_TRUE(Has(f.suggestion, "VALIDATE CONSTRAINT orders_user_fk")) << f.suggestion;
  // Unnamed: the suggestion names it the way PostgreSQL would.
  f = Only("ALTER TABLE orders ADD FOREIGN KEY (a, b) REFERENCES other ON DELETE CASCADE NOT DEFERRABLE;");
  EXPECT_EQ(f.rule, "add-foreign-key-without-not-valid");
  EXPECT_TRUE(Has(f.suggestion, "VALIDATE CONSTRAINT orders_a_b_fkey")) << f.suggestion;
  EXPECT_EQ(Rules("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users NOT VALID;"), Strings{});
}

TEST(Lint, AddCheckWithoutNotValid) {
  auto f = Only("ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0);");
  EXPECT_EQ(f.rule, "add-check-without-not-valid");
  EXPECT_TRUE(Has(f.message, "positive")) << f.message;
  EXPECT_TRUE(Has(f.suggestion, "ADD CONSTRAINT positive CHECK (total > 0) NOT VALID")) << f.suggestion;
  EXPECT_EQ(Rules("ALTER TABLE orders ADD CHECK (total > 0 AND note IS NOT NULL);"),
            Strings{"add-check-without-not-valid"});
  EXPECT_EQ(Rules("ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0) NOT VALID;"), Strings{});
}

TEST(Lint, AddUniqueOrPrimaryKeyWithoutIndex) {
  auto f = Only("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);");
  EXPECT_EQ(f.rule, "add-unique-or-pk-without-index");
  EXPECT_TRUE(Has(f.suggestion, "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email)")) << f.suggestion;
  EXPECT_TRUE(Has(f.suggestion, "ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key")) << f.suggestion;
  f = Only("ALTER TABLE users ADD PRIMARY KEY (id);");
  EXPECT_TRUE(Has(f.suggestion, "PRIMARY KEY USING INDEX users_pkey")) << f.suggestion;
  // "USING INDEX TABLESPACE" is an index parameter: the index is still built under the lock.
  EXPECT_EQ(Rules("ALTER TABLE users ADD UNIQUE (email) USING INDEX TABLESPACE fast;"),
            Strings{"add-unique-or-pk-without-index"});
  EXPECT_EQ(Rules("ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_idx;"), Strings{});
  EXPECT_EQ(Rules("ALTER TABLE users ADD CONSTRAINT k UNIQUE USING INDEX users_email_idx;"), Strings{});
}

TEST(Lint, DropColumnAndTable) {
  auto f = Only("ALTER TABLE users DROP COLUMN IF EXISTS legacy;");
  EXPECT_EQ(f.rule, "drop-column");
  EXPECT_EQ(f.severity, LintSeverity::kWarning);
  EXPECT_TRUE(Has(f.message, "legacy")) << f.message;
  EXPECT_EQ(Rules("ALTER TABLE users DROP legacy CASCADE;"), Strings{"drop-column"});
  f = Only("DROP TABLE IF EXISTS old_a, app.old_b CASCADE;");
  EXPECT_EQ(f.rule, "drop-table");
  EXPECT_TRUE(Has(f.message, "old_a, app.old_b")) << f.message;
  EXPECT_EQ(Rules("DROP VIEW v; DROP INDEX ix; ALTER TABLE users DROP CONSTRAINT c;"), Strings{});
}

TEST(Lint, Rename) {
  auto f = Only("ALTER TABLE users RENAME COLUMN name TO full_name;");
  EXPECT_EQ(f.rule, "rename");
  EXPECT_TRUE(Has(f.message, "name TO full_name")) << f.message;
  f = Only("ALTER TABLE IF EXISTS users RENAME TO customers;");
  EXPECT_TRUE(Has(f.suggestion, "CREATE VIEW users AS SELECT * FROM customers")) << f.suggestion;
  f = Only("ALTER TABLE app.users RENAME TO customers;");
  EXPECT_TRUE(Has(f.suggestion, "CREATE VIEW app.users AS SELECT * FROM app.customers")) << f.suggestion;
  EXPECT_EQ(Rules("ALTER TABLE users RENAME name TO full_name;"), Strings{"rename"});
  EXPECT_EQ(Rules("ALTER TABLE users RENAME CONSTRAINT a TO b; ALTER INDEX i RENAME TO j;"), Strings{});
}

TEST(Lint, VacuumFullAndCluster) {
  // VACUUM needs a no-transaction file (see VacuumInTransaction); FULL is a risk even there.
  auto f = Only("VACUUM FULL orders;", true);
  EXPECT_EQ(f.rule, "vacuum-full-or-cluster");
  EXPECT_TRUE(Has(f.message, "orders")) << f.message;
  EXPECT_EQ(Rules("VACUUM (FULL, ANALYZE) orders; VACUUM (FULL true);", true),
            (Strings{"vacuum-full-or-cluster", "vacuum-full-or-cluster"}));
  EXPECT_TRUE(Has(Only("VACUUM FULL;", true).message, "every table")) << Only("VACUUM FULL;", true).message;
  EXPECT_EQ(Rules("CLUSTER orders USING orders_pkey;"), Strings{"vacuum-full-or-cluster"});
  EXPECT_TRUE(Has(Only("CLUSTER VERBOSE app.orders;").message, "app.orders"));
  EXPECT_EQ(Rules("VACUUM orders; VACUUM (FULL false, ANALYZE) orders; VACUUM (ANALYZE) full_history;", true),
            Strings{});
}

TEST(Lint, VacuumInTransaction) {
  for (const char* sql :
       {"VACUUM;", "vacuum orders;", "VACUUM (ANALYZE, VERBOSE) app.orders;",
        "VACUUM FREEZE VERBOSE ANALYZE orders (total);", "CREATE DATABASE app_test;",
        "DROP DATABASE IF EXISTS app_test WITH (FORCE);", "ALTER SYSTEM SET work_mem = '64MB';",
        "alter system reset all;", "CREATE TABLESPACE fast LOCATION '/ssd';", "DROP TABLESPACE IF EXISTS fast;"}) {
    EXPECT_EQ(Rules(sql), Strings{"vacuum-in-transaction"}) << sql;
    EXPECT_EQ(Rules(sql, true), Strings{}) << sql;
  }
  auto f = Only("SELECT 1;\nVACUUM  ANALYZE\n  orders;");
  EXPECT_EQ(f.rule, "vacuum-in-transaction");
  EXPECT_EQ(f.severity, LintSeverity::kError);
  EXPECT_EQ(f.line, 2);
  EXPECT_TRUE(Has(f.message, "VACUUM ANALYZE orders cannot run inside a transaction block")) << f.message;
  EXPECT_TRUE(Has(f.suggestion, "`-- pgkeeper:no-transaction` the first line")) << f.suggestion;
  EXPECT_TRUE(Has(Only("drop database if exists \"App\";").message, "DROP DATABASE \"App\""));
  EXPECT_TRUE(Has(Only("ALTER SYSTEM SET work_mem = '64MB';").message, "ALTER SYSTEM SET work_mem = '64MB'"));
  // VACUUM FULL fails here and, once moved out of the transaction, still rewrites the table.
  EXPECT_EQ(Rules("VACUUM FULL orders;"), (Strings{"vacuum-in-transaction", "vacuum-full-or-cluster"}));
  // Statements that merely mention a database, a tablespace or VACUUM run fine in a transaction.
  EXPECT_EQ(Rules("CREATE TABLE database (tablespace text);\n"
                  "ANALYZE orders;\n"
                  "ALTER DATABASE app SET work_mem = '64MB';\n"
                  "ALTER TABLESPACE fast SET (random_page_cost = 1.1);\n"
                  "COMMENT ON DATABASE app IS 'VACUUM';\n"
                  "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'VACUUM';\n"
                  "SELECT 'DROP DATABASE x';\n"),
            Strings{});
  EXPECT_EQ(Rules("-- pgkeeper:lint-ignore vacuum-in-transaction\nVACUUM orders;"), Strings{});
}

TEST(Lint, ValidateInSameTransaction) {
  std::string add = "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0) NOT VALID;\n";
  auto f = Only(add + "ALTER TABLE orders VALIDATE CONSTRAINT positive;");
  EXPECT_EQ(f.rule, "validate-in-same-transaction");
  EXPECT_EQ(f.severity, LintSeverity::kWarning);
  EXPECT_EQ(f.line, 2);
  EXPECT_TRUE(Has(f.message, "ALTER TABLE orders VALIDATE CONSTRAINT positive")) << f.message;
  EXPECT_TRUE(Has(f.message, "(line 1)")) << f.message;
  EXPECT_TRUE(Has(f.message, "ACCESS EXCLUSIVE lock on orders")) << f.message;
  EXPECT_TRUE(Has(f.suggestion, "move `ALTER TABLE orders VALIDATE CONSTRAINT positive;` into the next migration"))
      << f.suggestion;
  // Foreign keys hold lighter locks, on both tables.
  f = Only(
      "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES app.users (id) NOT VALID;\n"
      "ALTER TABLE orders VALIDATE CONSTRAINT fk;");
  EXPECT_EQ(f.rule, "validate-in-same-transaction");
  EXPECT_TRUE(Has(f.message, "SHARE ROW EXCLUSIVE locks on orders and app.users")) << f.message;
  // In one ALTER TABLE, and with the table qualified in only one of the statements.
  EXPECT_EQ(Rules("ALTER TABLE orders ADD CONSTRAINT c CHECK (a > 0) NOT VALID, VALIDATE CONSTRAINT c;"),
            Strings{"validate-in-same-transaction"});
  EXPECT_EQ(Rules("ALTER TABLE app.orders ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\n"
                  "ALTER TABLE orders VALIDATE CONSTRAINT c;"),
            Strings{"validate-in-same-transaction"});
  // Unnamed constraints match where PostgreSQL's default name is known.
  EXPECT_EQ(Rules("ALTER TABLE orders ADD FOREIGN KEY (a, b) REFERENCES other NOT VALID;\n"
                  "ALTER TABLE orders VALIDATE CONSTRAINT orders_a_b_fkey;"),
            Strings{"validate-in-same-transaction"});
  EXPECT_EQ(Rules("ALTER TABLE orders ADD CHECK (note IS NOT NULL) NOT VALID;\n"
                  "ALTER TABLE orders VALIDATE CONSTRAINT orders_note_check;"),
            Strings{"validate-in-same-transaction"});
  EXPECT_EQ(Rules("ALTER TABLE orders ADD CONSTRAINT \"Pos\" CHECK (a > 0) NOT VALID;\n"
                  "ALTER TABLE orders VALIDATE CONSTRAINT \"Pos\";"),
            Strings{"validate-in-same-transaction"});
}

TEST(Lint, ValidateInSameTransactionNegatives) {
  std::string add = "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0) NOT VALID;\n";
  // Each statement of a no-transaction file commits, releasing the ADD's lock.
  EXPECT_EQ(Rules(add + "ALTER TABLE orders VALIDATE CONSTRAINT positive;", true), Strings{});
  // Added in an earlier migration, or another constraint, table or spelling.
  EXPECT_EQ(Rules("ALTER TABLE orders VALIDATE CONSTRAINT positive;"), Strings{});
  EXPECT_EQ(Rules(add + "ALTER TABLE orders VALIDATE CONSTRAINT other;"), Strings{});
  EXPECT_EQ(Rules(add + "ALTER TABLE items VALIDATE CONSTRAINT positive;"), Strings{});
  EXPECT_EQ(Rules(add + "ALTER TABLE orders VALIDATE CONSTRAINT \"Positive\";"), Strings{});
  EXPECT_EQ(Rules("ALTER TABLE orders VALIDATE CONSTRAINT positive;\n" + add), Strings{});
  // Added valid (flagged on its own), not NOT VALID.
  EXPECT_EQ(Rules("ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0);\n"
                  "ALTER TABLE orders VALIDATE CONSTRAINT positive;"),
            Strings{"add-check-without-not-valid"});
  // An unnamed check over several columns: its default name is not computed, so no guess.
  EXPECT_EQ(
      Rules("ALTER TABLE orders ADD CHECK (a > b) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_check;"),
      Strings{});
  // A table created in this file is empty: nothing to scan, nobody to block.
  EXPECT_EQ(Rules("CREATE TABLE orders (total int);\n" + add + "ALTER TABLE orders VALIDATE CONSTRAINT positive;"),
            Strings{});
  // Suppressed where it sits, above the VALIDATE.
  EXPECT_EQ(Rules(add + "-- pgkeeper:lint-ignore validate-in-same-transaction\n"
                        "ALTER TABLE orders VALIDATE CONSTRAINT positive;"),
            Strings{});
}

TEST(Lint, LockTable) {
  auto f = Only("LOCK TABLE orders IN SHARE MODE;");
  EXPECT_EQ(f.rule, "lock-table");
  EXPECT_EQ(f.severity, LintSeverity::kWarning);
  EXPECT_TRUE(Has(f.message, "orders IN SHARE MODE")) << f.message;
  EXPECT_TRUE(Has(Only("LOCK orders;").message, "ACCESS EXCLUSIVE")) << Only("LOCK orders;").message;
}

TEST(Lint, NewTablesAreExempt) {
  EXPECT_EQ(Rules("CREATE TABLE IF NOT EXISTS app.items (id bigint, owner bigint, name text);\n"
                  "CREATE INDEX items_owner ON items (owner);\n"
                  "CREATE UNIQUE INDEX ON app.items (name);\n"
                  "ALTER TABLE items ADD COLUMN sku text NOT NULL, ADD COLUMN token uuid DEFAULT gen_random_uuid();\n"
                  "ALTER TABLE ONLY items ALTER COLUMN name TYPE varchar(50), ALTER COLUMN name SET NOT NULL;\n"
                  "ALTER TABLE items ADD CONSTRAINT owner_fk FOREIGN KEY (owner) REFERENCES users (id);\n"
                  "ALTER TABLE items ADD CHECK (id > 0), ADD PRIMARY KEY (id), ADD UNIQUE (sku);\n"),
            Strings{});
  // Only tables created before the statement, and only in this file.
  EXPECT_EQ(Rules("CREATE INDEX i ON items (a);\nCREATE TABLE items (a int);"),
            Strings{"create-index-not-concurrently"});
  EXPECT_EQ(Rules("CREATE TABLE other.items (a int);\nCREATE INDEX i ON app.items (a);"),
            Strings{"create-index-not-concurrently"});
  // Some risks stay: the file may run against an existing table, or drop data.
  EXPECT_EQ(Rules("CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);\nVACUUM FULL t;"),
            (Strings{"concurrently-in-transaction", "vacuum-in-transaction", "vacuum-full-or-cluster"}));
}

TEST(Lint, TableNamesFollowPostgresFolding) {
  std::string create = "CREATE TABLE \"Weird Table\" (a int);\nCREATE TABLE Orders (a int);\n";
  EXPECT_EQ(Rules(create + "CREATE INDEX ON \"Weird Table\" (a); CREATE INDEX ON ORDERS (a);"
                           "CREATE INDEX ON \"orders\" (a);"),
            Strings{});
  EXPECT_EQ(Rules(create + "CREATE INDEX ON weird_table (a);"), Strings{"create-index-not-concurrently"});
  EXPECT_EQ(Rules(create + "CREATE INDEX ON \"Orders\" (a);"), Strings{"create-index-not-concurrently"});
  auto f = Only("ALTER TABLE \"Weird Table\" ALTER COLUMN \"Total\" TYPE bigint;");
  EXPECT_TRUE(Has(f.message, "\"Weird Table\"")) << f.message;
  EXPECT_TRUE(Has(f.message, "\"Total\"")) << f.message;
  EXPECT_TRUE(Has(Only("alter table APP.Orders drop column X;").message, "app.orders DROP COLUMN x"));
}

TEST(Lint, EachAlterTableActionIsChecked) {
  auto findings = LintMigration("m.sql",
                                "ALTER TABLE orders\n"
                                "  ADD COLUMN a int NOT NULL,\n"
                                "  ADD CONSTRAINT c CHECK (f(x, y) > 0),\n"
                                "  ALTER COLUMN b TYPE text,\n"
                                "  DROP COLUMN d;",
                                false);
  Strings rules;
  for (const auto& f : findings) rules.push_back(f.rule);
  EXPECT_EQ(rules, (Strings{"add-column-not-null-without-default", "add-check-without-not-valid", "alter-column-type",
                            "drop-column"}));
  for (const auto& f : findings) EXPECT_EQ(f.line, 1);
}

TEST(Lint, BodiesAndStringsDoNotTriggerRules) {
  EXPECT_EQ(Rules("CREATE FUNCTION cleanup() RETURNS void LANGUAGE plpgsql AS $fn$\n"
                  "BEGIN\n"
                  "  CREATE INDEX ix ON orders (a);\n"
                  "  ALTER TABLE orders DROP COLUMN b; VACUUM FULL orders; LOCK TABLE orders;\n"
                  "END;\n"
                  "$fn$;\n"
                  "DO $$ BEGIN DROP TABLE x; END $$;\n"
                  "COMMENT ON TABLE orders IS 'DROP TABLE orders; ALTER TABLE orders RENAME TO x';\n"
                  "SELECT E'\\'; DROP TABLE orders; --';\n"
                  "/* DROP TABLE a; /* nested */ LOCK TABLE b; */\n"
                  "-- ALTER TABLE orders ALTER COLUMN a TYPE int;\n"),
            Strings{});
}

TEST(Lint, BeginAtomicBodyIsOneStatement) {
  auto findings = LintMigration("m.sql",
                                "CREATE FUNCTION label(n int) RETURNS text LANGUAGE sql\n"
                                "BEGIN ATOMIC\n"
                                "  SELECT CASE WHEN n > 0 THEN 'pos' ELSE 'neg' END;\n"
                                "  SELECT 'lock table';\n"
                                "END;\n"
                                "DROP TABLE old;\n",
                                false);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].rule, "drop-table");
  EXPECT_EQ(findings[0].line, 6);
}

TEST(Lint, TruncatedStatementsDoNotCrash) {
  for (const char* sql :
       {"ALTER TABLE t ADD COLUMN c int DEFAULT",
        "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT",
        "ALTER TABLE t ADD CONSTRAINT",
        "ALTER TABLE t ADD CONSTRAINT c UNIQUE (",
        "ALTER TABLE t ADD FOREIGN KEY (a",
        "ALTER TABLE t ALTER COLUMN c TYPE",
        "ALTER TABLE t RENAME",
        "ALTER TABLE",
        "CREATE UNIQUE INDEX ON",
        "DROP TABLE",
        "VACUUM (FULL",
        "LOCK TABLE",
        "CLUSTER (",
        "ALTER TABLE t,,",
        "ALTER TABLE t ADD c int CHECK (((",
        ";;",
        "CREATE DATABASE",
        "DROP TABLESPACE IF",
        "ALTER SYSTEM",
        "ALTER TABLE t VALIDATE CONSTRAINT",
        "ALTER TABLE t ADD CONSTRAINT c FOREIGN KEY (a) NOT VALID; ALTER TABLE t VALIDATE CONSTRAINT c"}) {
    LintMigration("m.sql", sql, false);
  }
  EXPECT_EQ(Rules("ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT"), Strings{"add-column-not-null-without-default"});
}

TEST(Lint, FindingsAreOrderedByLine) {
  auto findings = LintMigration("m.sql",
                                "-- pgkeeper header\n"
                                "DROP TABLE a;\n"
                                "\n"
                                "/* why */ ALTER TABLE b\n"
                                "  RENAME TO c; LOCK TABLE d;\n"
                                "VACUUM FULL\n"
                                "  e;",
                                false);
  std::vector<std::pair<int, std::string>> got;
  for (const auto& f : findings) got.emplace_back(f.line, f.rule);
  EXPECT_EQ(got, (std::vector<std::pair<int, std::string>>{{2, "drop-table"},
                                                           {4, "rename"},
                                                           {5, "lock-table"},
                                                           {6, "vacuum-in-transaction"},
                                                           {6, "vacuum-full-or-cluster"}}));
}

TEST(LintSuppression, StatementLevel) {
  EXPECT_EQ(Rules("-- legacy column, unused since v3\n"
                  "-- pgkeeper:lint-ignore drop-column, rename because the app never read them\n"
                  "ALTER TABLE users DROP COLUMN legacy, RENAME COLUMN a TO b;\n"
                  "ALTER TABLE users DROP COLUMN other;\n"),
            Strings{"drop-column"});
  // Only the listed rules.
  EXPECT_EQ(Rules("-- pgkeeper:lint-ignore rename\nALTER TABLE users DROP COLUMN legacy;"), Strings{"drop-column"});
  EXPECT_EQ(Rules("  --pgkeeper:lint-ignore drop-table,lock-table\nDROP TABLE a; LOCK TABLE b;"),
            Strings{"lock-table"});
}

TEST(LintSuppression, MustBeDirectlyAboveTheStatement) {
  // A blank line, the previous statement or its line end the comment block.
  EXPECT_EQ(Rules("-- pgkeeper:lint-ignore drop-table\n\nDROP TABLE a;"), Strings{"drop-table"});
  EXPECT_EQ(Rules("-- pgkeeper:lint-ignore drop-table\nDROP TABLE a; DROP TABLE b;"), Strings{"drop-table"});
  EXPECT_EQ(Rules("SELECT 1; -- pgkeeper:lint-ignore drop-table\nDROP TABLE a;"), Strings{"drop-table"});
  EXPECT_EQ(Rules("SELECT 1\n-- pgkeeper:lint-ignore drop-table\n;\nDROP TABLE a;"), Strings{"drop-table"});
  EXPECT_EQ(Rules("-- pgkeeper:lint-ignore drop-tables\nDROP TABLE a;"), Strings{"drop-table"});
  EXPECT_EQ(Rules("-- pgkeeper:lint-ignore-file-x drop-table\nDROP TABLE a;"), Strings{"drop-table"});
}

TEST(LintSuppression, FileLevel) {
  EXPECT_EQ(Rules("DROP TABLE a;\nALTER TABLE b DROP COLUMN c;\nDROP TABLE d;\n"
                  "-- pgkeeper:lint-ignore-file drop-table\n"),
            Strings{"drop-column"});
  EXPECT_EQ(Rules("-- pgkeeper:lint-ignore-file drop-table, drop-column\nDROP TABLE a;\nALTER TABLE b DROP c;"),
            Strings{});
}

TEST(LintSuppression, NoTransactionDirectiveIsNotASuppression) {
  std::string sql = "-- pgkeeper:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\nCREATE INDEX j ON t (b);";
  EXPECT_EQ(Rules(sql, true), Strings{"create-index-not-concurrently"});
  EXPECT_EQ(Rules(sql, false), (Strings{"concurrently-in-transaction", "create-index-not-concurrently"}));
}

}  // namespace
}  // namespace pgk::migrate
