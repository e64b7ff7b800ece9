// `pgkeeper migrate` against a real server: every command and every failure the
// migrations issue names.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "common/process.h"
#include "harness/harness.h"
#include "migrate/lock.h"

namespace pgk::test {

namespace {

std::vector<std::pair<std::string, std::string>> ThreeSteps() {
  return {{"000001_create_a.up.sql", "CREATE TABLE a (id int PRIMARY KEY);\n"},
          {"000001_create_a.down.sql", "DROP TABLE a;\n"},
          {"000002_create_b.up.sql", "CREATE TABLE b (id int PRIMARY KEY);\nINSERT INTO b VALUES (1);\n"},
          {"000002_create_b.down.sql", "DROP TABLE b;\n"},
          {"000003_add_c.up.sql", "ALTER TABLE a ADD COLUMN c text;\n"},
          {"000003_add_c.down.sql", "ALTER TABLE a DROP COLUMN c;\n"}};
}

// A fingerprint of the user-visible catalog, to prove that nothing changed.
std::string CatalogFingerprint(const std::string& db) {
  return QueryValue(db, "SELECT md5(string_agg(c.relname || ':' || c.relkind || ':' || coalesce(a.attname, '') || ':' || "
                   "coalesce(format_type(a.atttypid, a.atttypmod), ''), ',' ORDER BY c.relname, a.attnum)) "
                   "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
                   "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')");
}

}  // namespace

TEST(Migrate, UpStatusDownRoundTrip) {
  std::string db = CreateDatabase("mig_basic");
  std::string dir = MakeFiles("mig_basic", ThreeSteps());
  auto r = RunMigrate(db, dir, {"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.Json()["counts"]["pending"], 3);

  r = RunMigrate(db, dir, {"up"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("applied 3 migrations; now at version 3"), std::string::npos) << r.out;
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM b"), "1");
  EXPECT_EQ(QueryValue(db, "SELECT string_agg(version::text || ':' || name || ':' || success, ',' ORDER BY version) FROM schema_migrations"),
            "1:create_a:true,2:create_b:true,3:add_c:true");
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM schema_migrations WHERE checksum ~ '^sha256:[0-9a-f]{64}$' AND applied_by = "
                      "'postgres' AND applied_host <> ''"),
            "3");

  r = RunMigrate(db, dir, {"up"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("nothing to apply"), std::string::npos);

  r = RunMigrate(db, dir, {"down"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'a' AND column_name = 'c'"), "0");
  r = RunMigrate(db, dir, {"status", "--json"});
  auto j = r.Json();
  EXPECT_EQ(j["current_version"], 2);
  EXPECT_EQ(j["counts"]["applied"], 2);
  EXPECT_EQ(j["counts"]["pending"], 1);

  r = RunMigrate(db, dir, {"up", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.Json()["current_version"], 3);
  r = RunMigrate(db, dir, {"down", "--all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM schema_migrations"), "0");
  EXPECT_EQ(QueryValue(db, "SELECT to_regclass('a') IS NULL AND to_regclass('b') IS NULL"), "t");
}

TEST(Migrate, FailingStatementRollsBackTheWholeFile) {
  std::string db = CreateDatabase("mig_fail");
  auto files = ThreeSteps();
  files[2].second = "CREATE TABLE b (id int PRIMARY KEY);\n\nINSERT INTO b VALUES (1);\n-- a typo on line 5:\nINSERT INTO nope VALUES (2);\n";
  std::string dir = MakeFiles("mig_fail", files);
  auto r = RunMigrate(db, dir, {"up"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("000002_create_b.up.sql:5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("SQLSTATE 42P01"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("relation \"nope\" does not exist"), std::string::npos) << r.err;
  // Version 1 stays applied; version 2 left no trace: no table b, no history row.
  EXPECT_EQ(QueryValue(db, "SELECT string_agg(version::text, ',') FROM schema_migrations"), "1");
  EXPECT_EQ(QueryValue(db, "SELECT to_regclass('b') IS NULL"), "t");
  // Not dirty: fixing the file lets up continue.
  std::ofstream(dir + "/000002_create_b.up.sql") << "CREATE TABLE b (id int PRIMARY KEY);\n";
  r = RunMigrate(db, dir, {"up"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Migrate, ConcurrentRunsApplyEachVersionOnce) {
  std::string db = CreateDatabase("mig_concurrent");
  std::vector<std::pair<std::string, std::string>> files = {
      {"000001_log.up.sql", "CREATE TABLE applied_log (version int, at timestamptz DEFAULT clock_timestamp());\n"
                            "INSERT INTO applied_log (version) VALUES (1);\n"}};
  for (int v = 2; v <= 6; ++v) {
    files.push_back({"00000" + std::to_string(v) + "_step.up.sql",
                     "SELECT pg_sleep(0.1);\nINSERT INTO applied_log (version) VALUES (" + std::to_string(v) + ");\n"});
  }
  // A CREATE INDEX CONCURRENTLY waits for every older snapshot: if the waiting runs held
  // one while polling for the lock, this would deadlock until the lock timeout.
  files.push_back({"000007_idx.up.sql", "-- pgkeeper:no-transaction\nCREATE INDEX CONCURRENTLY applied_log_v ON applied_log (version);\n"});
  std::string dir = MakeFiles("mig_concurrent", files);
  std::vector<CliResult> results(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) threads.emplace_back([&, i] { results[i] = RunMigrate(db, dir, {"up", "--lock-timeout", "60"}); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM applied_log"), "6");
  EXPECT_EQ(QueryValue(db, "SELECT count(DISTINCT version) FROM applied_log"), "6");
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM schema_migrations WHERE success"), "7");
  EXPECT_EQ(QueryValue(db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'applied_log_v'::regclass"), "t");
}

TEST(Migrate, LockTimeoutNamesTheHolder) {
  std::string db = CreateDatabase("mig_lock");
  std::string dir = MakeFiles("mig_lock", ThreeSteps());
  // Take the same lock a running migration would hold.
  auto conn = pg::Connection::Connect(ConnInfo(db), {.application_name = "pgkeeper-migrate@otherhost"});
  ASSERT_TRUE(conn.ok());
  auto holder = std::make_unique<pg::Connection>(std::move(conn).value());
  int holder_pid = holder->backend_pid();
  EXPECT_EQ(RunMigrate(db, dir, {"status"}).exit_code, 0);  // status does not need the lock
  ASSERT_TRUE(holder->Query("SELECT pg_advisory_lock($1::bigint)",
                            {std::to_string(migrate::LockKey(migrate::TableName{}))}).ok());
  auto r = RunMigrate(db, dir, {"up", "--lock-timeout", "1"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("another migration is running (pid " + std::to_string(holder_pid) + " on host otherhost"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT to_regclass('a') IS NULL"), "t");
  // Once the holder goes away (even killed), the lock is gone with its session.
  holder.reset();
  r = RunMigrate(db, dir, {"up", "--lock-timeout", "5"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// kill -9 in the middle of a long migration: the server notices the client is gone,
// rolls the file back and releases the lock; the next run applies it.
TEST(Migrate, KilledRunLeavesNoStaleLockAndNoTrace) {
  std::string db = CreateDatabase("mig_killed");
  std::string dir = MakeFiles("mig_killed", {{"000001_slow.up.sql", "CREATE TABLE slow (x int);\nSELECT pg_sleep(60);\n"}});
  ProcessOptions po{.argv = {BinaryPath(), "migrate", "--dir", dir, "--db", UrlWithPassword(db), "up"}};
  po.output_file = TempPath("mig_killed.log");
  auto p = Process::Spawn(po);
  ASSERT_TRUE(p.ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (QueryValue(db, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'") == "0" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  p->Signal(SIGKILL);
  p->Wait();
  // Same file minus the sleep; CREATE TABLE would fail if the killed run had committed.
  std::ofstream(dir + "/000001_slow.up.sql") << "CREATE TABLE slow (x int);\n";
  auto started = std::chrono::steady_clock::now();
  auto r = RunMigrate(db, dir, {"up", "--lock-timeout", "30"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 15)
      << "the killed run's backend must give up its lock within seconds, not after pg_sleep(60)";
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM schema_migrations WHERE success"), "1");
}

TEST(Migrate, BusyTableFailsFastWithDdlLockTimeout) {
  std::string db = CreateDatabase("mig_busy");
  std::string dir = MakeFiles("mig_busy", ThreeSteps());
  ASSERT_EQ(RunMigrate(db, dir, {"up", "2"}).exit_code, 0);
  auto busy = Connect(db);
  ASSERT_TRUE(busy.Exec("BEGIN; LOCK TABLE a IN ACCESS SHARE MODE;").ok());
  auto started = std::chrono::steady_clock::now();
  auto r = RunMigrate(db, dir, {"up", "--ddl-lock-timeout", "300"});
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("SQLSTATE 55P03"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--ddl-lock-timeout"), std::string::npos) << r.err;
  EXPECT_LT(took, 20);
  ASSERT_TRUE(busy.Exec("ROLLBACK").ok());
  EXPECT_EQ(QueryValue(db, "SELECT max(version) FROM schema_migrations"), "2");
}

TEST(Migrate, StatementTimeout) {
  std::string db = CreateDatabase("mig_stmt_timeout");
  std::string dir = MakeFiles("mig_stmt_timeout", {{"000001_slow.up.sql", "SELECT pg_sleep(5);\n"}});
  auto r = RunMigrate(db, dir, {"up", "--statement-timeout", "200"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("SQLSTATE 57014"), std::string::npos) << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM schema_migrations"), "0");
}

TEST(Migrate, ChangedFileIsRefusedAndValidateFails) {
  std::string db = CreateDatabase("mig_changed");
  std::string dir = MakeFiles("mig_changed", ThreeSteps());
  ASSERT_EQ(RunMigrate(db, dir, {"up", "2"}).exit_code, 0);
  EXPECT_EQ(RunMigrate(db, dir, {"validate"}).exit_code, 0);
  std::ofstream(dir + "/000001_create_a.up.sql", std::ios::app) << "-- edited after it was applied\n";
  auto r = RunMigrate(db, dir, {"up"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("changed on disk"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("000001_create_a.up.sql"), std::string::npos);
  EXPECT_EQ(QueryValue(db, "SELECT max(version) FROM schema_migrations"), "2");
  auto v = RunMigrate(db, dir, {"validate", "--json"});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_EQ(v.Json()["problems"][0]["version"], 1);
  EXPECT_EQ(RunMigrate(db, dir, {"status", "--json"}).Json()["counts"]["changed"], 1);
  r = RunMigrate(db, dir, {"up", "--allow-changed"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Migrate, MissingFileShowsInStatusAndValidate) {
  std::string db = CreateDatabase("mig_missing");
  std::string dir = MakeFiles("mig_missing", ThreeSteps());
  ASSERT_EQ(RunMigrate(db, dir, {"up"}).exit_code, 0);
  std::filesystem::remove(dir + "/000002_create_b.up.sql");
  std::filesystem::remove(dir + "/000002_create_b.down.sql");
  auto s = RunMigrate(db, dir, {"status", "--json"});
  EXPECT_EQ(s.Json()["counts"]["missing"], 1);
  auto v = RunMigrate(db, dir, {"validate"});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.out.find("file is missing"), std::string::npos) << v.out;
}

TEST(Migrate, OutOfOrderIsRefused) {
  std::string db = CreateDatabase("mig_ooo");
  auto files = ThreeSteps();
  files.erase(files.begin() + 2, files.begin() + 4);  // no version 2 yet
  std::string dir = MakeFiles("mig_ooo", files);
  ASSERT_EQ(RunMigrate(db, dir, {"up"}).exit_code, 0);
  std::ofstream(dir + "/000002_create_b.up.sql") << "CREATE TABLE b (id int);\n";
  auto r = RunMigrate(db, dir, {"up"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("older than the newest applied"), std::string::npos) << r.err;
  EXPECT_EQ(RunMigrate(db, dir, {"up", "--allow-out-of-order"}).exit_code, 0);
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM schema_migrations"), "3");
}

TEST(Migrate, NoTransactionCreateIndexConcurrently) {
  std::string db = CreateDatabase("mig_cic");
  std::string dir = MakeFiles("mig_cic", {{"000001_t.up.sql", "CREATE TABLE t (id int, v int);\nINSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;\n"},
                                        {"000002_idx.up.sql", "-- pgkeeper:no-transaction\nCREATE INDEX CONCURRENTLY t_v ON t (v);\n"
                                                              "CREATE INDEX CONCURRENTLY t_id ON t (id);\n"},
                                        {"000002_idx.down.sql", "-- pgkeeper:no-transaction\nDROP INDEX CONCURRENTLY t_v;\nDROP INDEX CONCURRENTLY t_id;\n"}});
  auto r = RunMigrate(db, dir, {"up"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN ('t_v', 't_id') AND i.indisvalid"), "2");
  EXPECT_EQ(QueryValue(db, "SELECT no_transaction AND success FROM schema_migrations WHERE version = 2"), "t");
  EXPECT_EQ(RunMigrate(db, dir, {"down"}).exit_code, 0);
  EXPECT_EQ(QueryValue(db, "SELECT to_regclass('t_v') IS NULL"), "t");
  // Without the directive the file cannot run, and lint says so before it is tried.
  std::string bad = MakeFiles("mig_cic_bad", {{"000001_idx.up.sql", "CREATE TABLE u (v int);\nCREATE INDEX CONCURRENTLY u_v ON u (v);\n"}});
  auto lint = RunCli({"migrate", "lint", "--dir", bad});
  EXPECT_EQ(lint.exit_code, 1);
  EXPECT_NE(lint.out.find("concurrently-in-transaction"), std::string::npos) << lint.out;
  auto up = RunMigrate(db, bad, {"up", "--table", "other_history"});
  EXPECT_EQ(up.exit_code, 3);
  EXPECT_NE(up.err.find("25001"), std::string::npos) << up.err;
  EXPECT_NE(up.err.find("pgkeeper:no-transaction"), std::string::npos) << up.err;
}

TEST(Migrate, FailedNoTransactionMigrationIsDirtyUntilForced) {
  std::string db = CreateDatabase("mig_dirty");
  std::string dir = MakeFiles("mig_dirty", {{"000001_t.up.sql", "CREATE TABLE t (v int);\nINSERT INTO t VALUES (1), (1);\n"},
                                          {"000002_uniq.up.sql", "-- pgkeeper:no-transaction\nALTER TABLE t ADD COLUMN w int;\n"
                                                                 "CREATE UNIQUE INDEX CONCURRENTLY t_v ON t (v);\n"},
                                          {"000003_more.up.sql", "CREATE TABLE more (x int);\n"}});
  auto r = RunMigrate(db, dir, {"up"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("000002_uniq.up.sql:3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pgkeeper migrate force 2"), std::string::npos) << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT success FROM schema_migrations WHERE version = 2"), "f");
  // Every writing command now refuses, printing the exact command to run.
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{{"up"}, {"down"}, {"goto", "3"}}) {
    auto refused = RunMigrate(db, dir, cmd);
    EXPECT_EQ(refused.exit_code, 2) << cmd[0];
    EXPECT_NE(refused.err.find("dirty"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("pgkeeper migrate force 2"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("pgkeeper migrate force 1"), std::string::npos) << refused.err;
  }
  EXPECT_EQ(RunMigrate(db, dir, {"validate"}).exit_code, 1);
  EXPECT_EQ(RunCli({"check", "--db", UrlWithPassword(db)}).exit_code, 1) << "check reports a dirty history";
  EXPECT_EQ(QueryValue(db, "SELECT to_regclass('more') IS NULL"), "t");
  // Repair by hand (undo the column), then force to 1 and re-run with a fixed file.
  ASSERT_TRUE(Connect(db).Exec("ALTER TABLE t DROP COLUMN w; DROP INDEX IF EXISTS t_v; DELETE FROM t WHERE ctid <> (SELECT min(ctid) FROM t)").ok());
  EXPECT_EQ(RunMigrate(db, dir, {"force", "1"}).exit_code, 0);
  r = RunMigrate(db, dir, {"up"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM schema_migrations WHERE success"), "3");
}

TEST(Migrate, ForceRefusesUnknownVersions) {
  std::string db = CreateDatabase("mig_force");
  std::string dir = MakeFiles("mig_force", ThreeSteps());
  auto r = RunMigrate(db, dir, {"force", "99"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown version 99"), std::string::npos);
  EXPECT_EQ(RunMigrate(db, dir, {"force", "2"}).exit_code, 0);
  EXPECT_EQ(QueryValue(db, "SELECT string_agg(version::text || source, ',') FROM schema_migrations"), "2force");
}

TEST(Migrate, DownPastTheFirstMigrationChangesNothing) {
  std::string db = CreateDatabase("mig_down_past");
  std::string dir = MakeFiles("mig_down_past", ThreeSteps());
  ASSERT_EQ(RunMigrate(db, dir, {"up", "2"}).exit_code, 0);
  std::string before = CatalogFingerprint(db);
  auto r = RunMigrate(db, dir, {"down", "3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("only 2 are applied"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--all"), std::string::npos);
  EXPECT_EQ(CatalogFingerprint(db), before);
}

TEST(Migrate, GotoBothDirections) {
  std::string db = CreateDatabase("mig_goto");
  std::string dir = MakeFiles("mig_goto", ThreeSteps());
  EXPECT_EQ(RunMigrate(db, dir, {"goto", "2"}).exit_code, 0);
  EXPECT_EQ(QueryValue(db, "SELECT max(version) FROM schema_migrations"), "2");
  EXPECT_EQ(RunMigrate(db, dir, {"goto", "3"}).exit_code, 0);
  EXPECT_EQ(QueryValue(db, "SELECT max(version) FROM schema_migrations"), "3");
  EXPECT_EQ(RunMigrate(db, dir, {"goto", "1"}).exit_code, 0);
  EXPECT_EQ(QueryValue(db, "SELECT string_agg(version::text, ',') FROM schema_migrations"), "1");
  EXPECT_EQ(QueryValue(db, "SELECT to_regclass('b') IS NULL"), "t");
  EXPECT_EQ(RunMigrate(db, dir, {"goto", "0"}).exit_code, 0);
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM schema_migrations"), "0");
  auto r = RunMigrate(db, dir, {"goto", "7"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(Migrate, DryRunChangesNothing) {
  std::string db = CreateDatabase("mig_dry");
  std::string dir = MakeFiles("mig_dry", ThreeSteps());
  std::string before = CatalogFingerprint(db);
  auto r = RunMigrate(db, dir, {"up", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("dry run"), std::string::npos);
  EXPECT_NE(r.out.find("CREATE TABLE b (id int PRIMARY KEY);"), std::string::npos) << r.out;
  EXPECT_EQ(CatalogFingerprint(db), before) << "not even the history table may be created";
  ASSERT_EQ(RunMigrate(db, dir, {"up"}).exit_code, 0);
  before = CatalogFingerprint(db);
  std::string history = QueryValue(db, "SELECT string_agg(version::text, ',') FROM schema_migrations");
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{{"down", "--dry-run"}, {"goto", "1", "--dry-run"}}) {
    auto d = RunMigrate(db, dir, cmd);
    EXPECT_EQ(d.exit_code, 0) << d.err;
    EXPECT_NE(d.out.find("down "), std::string::npos) << d.out;
  }
  auto j = RunMigrate(db, dir, {"down", "--all", "--dry-run", "--json"}).Json();
  EXPECT_EQ(j["plan"].size(), 3u);
  EXPECT_EQ(j["plan"][0]["version"], 3);
  EXPECT_EQ(CatalogFingerprint(db), before);
  EXPECT_EQ(QueryValue(db, "SELECT string_agg(version::text, ',') FROM schema_migrations"), history);
}

TEST(Migrate, BadFilesAreReportedAndNothingApplied) {
  std::string db = CreateDatabase("mig_badfiles");
  struct Case {
    std::vector<std::pair<std::string, std::string>> files;
    std::string expect;
  };
  std::vector<Case> cases = {
      {{{"000001_a.up.sql", "CREATE TABLE a (x int);"}, {"01_b.up.sql", "CREATE TABLE b (x int);"}}, "duplicate version"},
      {{{"000001_a.up.sql", "CREATE TABLE a (x int);"}, {"000002_b.down.sql", "DROP TABLE b;"}}, "down migration without its up"},
      {{{"000001_a.up.sql", "CREATE TABLE a (x int);"}, {"create_b.sql", "CREATE TABLE b (x int);"}}, "not a migration file name"},
      {{{"000001_a.up.sql", "CREATE TABLE a (x int);"}, {"99999999999999999999999_b.up.sql", "x"}}, "not an unsigned 64-bit"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string dir = MakeFiles("mig_badfiles_" + std::to_string(i), cases[i].files);
    auto r = RunMigrate(db, dir, {"up"});
    EXPECT_EQ(r.exit_code, 2) << i;
    EXPECT_NE(r.err.find(cases[i].expect), std::string::npos) << r.err;
    EXPECT_EQ(QueryValue(db, "SELECT to_regclass('a') IS NULL AND to_regclass('schema_migrations') IS NULL"), "t") << i;
  }
  if (!IsRoot()) {
    std::string dir = MakeFiles("mig_unreadable", {{"000001_a.up.sql", "CREATE TABLE a (x int);"}});
    ::chmod((dir + "/000001_a.up.sql").c_str(), 0);
    auto r = RunMigrate(db, dir, {"up"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("000001_a.up.sql: cannot read"), std::string::npos) << r.err;
  }
  auto r = RunMigrate(db, "/nonexistent/migrations", {"up"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("migrations directory not found"), std::string::npos);
}

TEST(Migrate, UpOnlyLayoutCannotBeRolledBack) {
  std::string db = CreateDatabase("mig_uponly");
  std::string dir = MakeFiles("mig_uponly", {{"001_init.sql", "CREATE TABLE a (x int);"}, {"002_more.sql", "CREATE TABLE b (x int);"}});
  ASSERT_EQ(RunMigrate(db, dir, {"up"}).exit_code, 0);
  auto r = RunMigrate(db, dir, {"down"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("has no down migration (up-only layout)"), std::string::npos) << r.err;
  // create follows the directory's layout and padding.
  auto c = RunCli({"migrate", "--dir", dir, "create", "Add users table!"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/003_add_users_table.sql"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/003_add_users_table.up.sql"));
}

TEST(Migrate, CreateNumbersAndPads) {
  std::string dir = TempPath("mig_create");
  std::filesystem::remove_all(dir);
  auto r = RunCli({"migrate", "--dir", dir, "create", "init"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/000001_init.up.sql"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/000001_init.down.sql"));
  r = RunCli({"migrate", "--dir", dir, "create", "second step", "--json"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.Json()["files"].size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(dir + "/000002_second_step.up.sql"));
  struct stat st {};
  ::stat((dir + "/000002_second_step.up.sql").c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(RunCli({"migrate", "--dir", dir, "create", "!!!"}).exit_code, 2);
}

TEST(Migrate, BaselineMarksExistingSchema) {
  std::string db = CreateDatabase("mig_baseline");
  std::string dir = MakeFiles("mig_baseline", ThreeSteps());
  ASSERT_TRUE(Connect(db).Exec("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);").ok());
  auto r = RunMigrate(db, dir, {"baseline", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT string_agg(version::text || source, ',' ORDER BY version) FROM schema_migrations"),
            "1baseline,2baseline");
  ASSERT_EQ(RunMigrate(db, dir, {"up"}).exit_code, 0);
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'a' AND column_name = 'c'"), "1");
  EXPECT_EQ(RunMigrate(db, dir, {"baseline", "2"}).exit_code, 2) << "a second baseline is refused";
}

TEST(Migrate, BackupFirstTakesASafetyBackup) {
  std::string db = CreateDatabase("mig_backup_first");
  std::string dir = MakeFiles("mig_backup_first", ThreeSteps());
  // Without a repository: refused, nothing applied.
  auto r = RunMigrate(db, dir, {"up", "--backup-first"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("repository"), std::string::npos) << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT to_regclass('a') IS NULL"), "t");
  // With one: the backup is taken (tagged pre-migration), then the migrations run.
  std::string repo = TempPath("mig_backup_first_repo");
  r = RunMigrate(db, dir, {"up", "--backup-first", "--repo", repo});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("safety backup"), std::string::npos) << r.out;
  auto list = RunCli({"backups", "list", "--repo", repo, "--json"});
  EXPECT_NE(list.out.find("pre-migration"), std::string::npos) << list.out;
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM schema_migrations"), "3");
}

TEST(Migrate, UpPrintsLintFindingsForWhatItApplies) {
  std::string db = CreateDatabase("mig_up_lint");
  std::string dir = MakeFiles("mig_up_lint", {{"000001_t.up.sql", "CREATE TABLE t (v int);"},
                                            {"000002_idx.up.sql", "CREATE INDEX t_v ON t (v);"}});
  auto r = RunMigrate(db, dir, {"up"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("create-index-not-concurrently"), std::string::npos) << r.out;
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM schema_migrations"), "2");
}

TEST(Migrate, ConfigFileSettings) {
  std::string db = CreateDatabase("mig_config");
  std::string dir = MakeFiles("mig_config", ThreeSteps());
  std::string cwd = TempPath("mig_config_cwd");
  std::filesystem::create_directories(cwd);
  std::ofstream(cwd + "/pgkeeper.toml") << "[database]\nurl = \"" << UrlWithPassword(db) << "\"\n[migrations]\ndir = \"" << dir
                                        << "\"\ntable = \"ops.migration_history\"\n";
  auto r = RunCli({"migrate", "up"}, {}, cwd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM ops.migration_history"), "3");
  EXPECT_EQ(QueryValue(db, "SELECT to_regclass('public.schema_migrations') IS NULL"), "t");
}

}  // namespace pgk::test
