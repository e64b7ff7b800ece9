// Adopting the history tables of golang-migrate, migrate.sh scripts, Flyway and dbmate.
#include <gtest/gtest.h>

#include <fstream>

#include "common/hash.h"
#include "harness/harness.h"

namespace pgk::test {

namespace {

std::vector<std::pair<std::string, std::string>> GolangFiles() {
  return {{"1_a.up.sql", "CREATE TABLE a (x int);\n"},  {"1_a.down.sql", "DROP TABLE a;\n"},
          {"2_b.up.sql", "CREATE TABLE b (x int);\n"},  {"2_b.down.sql", "DROP TABLE b;\n"},
          {"3_c.up.sql", "CREATE TABLE c (x int);\n"},  {"3_c.down.sql", "DROP TABLE c;\n"},
          {"4_d.up.sql", "CREATE TABLE d (x int);\n"},  {"4_d.down.sql", "DROP TABLE d;\n"}};
}

}  // namespace

TEST(Adopt, GolangMigrateTable) {
  std::string db = CreateDatabase("adopt_golang");
  std::string dir = MakeFiles("adopt_golang", GolangFiles());
  // As golang-migrate leaves it after applying 1..2.
  ASSERT_TRUE(Connect(db).Exec("CREATE TABLE a (x int); CREATE TABLE b (x int);"
                               "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);"
                               "INSERT INTO schema_migrations VALUES (2, false);").ok());
  auto s = RunMigrate(db, dir, {"status", "--json"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.Json()["counts"]["applied"], 2);
  EXPECT_EQ(s.Json()["counts"]["pending"], 2);
  EXPECT_NE(s.Json()["notes"][0].get<std::string>().find("golang-migrate"), std::string::npos);
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'schema_migrations'"), "2")
      << "status must not change the table";

  auto r = RunMigrate(db, dir, {"up"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("found a golang-migrate history table public.schema_migrations at version 2 (clean)"),
            std::string::npos) << r.out;
  EXPECT_EQ(QueryValue(db, "SELECT string_agg(version::text || ':' || source, ',' ORDER BY version) FROM schema_migrations"),
            "1:golang-migrate,2:golang-migrate,3:pgkeeper,4:pgkeeper");
  EXPECT_EQ(QueryValue(db, "SELECT to_regclass('d') IS NOT NULL"), "t");
  EXPECT_EQ(RunMigrate(db, dir, {"validate"}).exit_code, 0);
  // Rolling back works across adopted rows.
  EXPECT_EQ(RunMigrate(db, dir, {"goto", "1"}).exit_code, 0);
  EXPECT_EQ(QueryValue(db, "SELECT to_regclass('b') IS NULL"), "t");
}

TEST(Adopt, DirtyGolangMigrateTableMustBeForced) {
  std::string db = CreateDatabase("adopt_golang_dirty");
  std::string dir = MakeFiles("adopt_golang_dirty", GolangFiles());
  ASSERT_TRUE(Connect(db).Exec("CREATE TABLE a (x int);"
                               "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);"
                               "INSERT INTO schema_migrations VALUES (2, true);").ok());
  auto r = RunMigrate(db, dir, {"up"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("pgkeeper migrate force 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pgkeeper migrate force 1"), std::string::npos) << r.err;
  // The adoption itself happened (and is kept): the table is now pgkeeper's, still dirty.
  EXPECT_EQ(QueryValue(db, "SELECT success FROM schema_migrations WHERE version = 2"), "f");
  ASSERT_TRUE(Connect(db).Exec("CREATE TABLE b (x int)").ok());  // the manual repair
  EXPECT_EQ(RunMigrate(db, dir, {"force", "2"}).exit_code, 0);
  EXPECT_EQ(RunMigrate(db, dir, {"up"}).exit_code, 0);
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM schema_migrations WHERE success"), "4");
}

TEST(Adopt, SimpleTable) {
  std::string db = CreateDatabase("adopt_simple");
  std::string dir = MakeFiles("adopt_simple", {{"001_a.sql", "CREATE TABLE a (x int);\n"},
                                             {"002_b.sql", "CREATE TABLE b (x int);\n"},
                                             {"003_c.sql", "CREATE TABLE c (x int);\n"}});
  ASSERT_TRUE(Connect(db).Exec("CREATE TABLE a (x int); CREATE TABLE b (x int);"
                               "CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz DEFAULT now());"
                               "INSERT INTO schema_migrations VALUES ('001', '2024-01-02 03:04:05+00'), ('002_b', now());").ok());
  auto r = RunMigrate(db, dir, {"up"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("found a simple history table public.schema_migrations with 2 applied version(s): 1, 2"),
            std::string::npos) << r.out;
  EXPECT_EQ(QueryValue(db, "SELECT string_agg(version::text || ':' || name, ',' ORDER BY version) FROM schema_migrations"),
            "1:a,2:b,3:c");
  EXPECT_EQ(QueryValue(db, "SELECT applied_at = '2024-01-02 03:04:05+00' FROM schema_migrations WHERE version = 1"), "t")
      << "the original applied_at is kept";
  EXPECT_EQ(RunMigrate(db, dir, {"validate"}).exit_code, 0);
}

TEST(Adopt, UnknownTableShapeIsRefused) {
  std::string db = CreateDatabase("adopt_unknown");
  std::string dir = MakeFiles("adopt_unknown", GolangFiles());
  ASSERT_TRUE(Connect(db).Exec("CREATE TABLE schema_migrations (id serial, whatever text)").ok());
  auto r = RunMigrate(db, dir, {"up"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a migration history table"), std::string::npos) << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT to_regclass('a') IS NULL"), "t");
}

TEST(Import, FlywayHistoryKeepsItsChecksums) {
  std::string db = CreateDatabase("import_flyway");
  std::string v1 = "CREATE TABLE a (x int);\r\n-- windows line endings\r\n";
  std::string v2 = "\xEF\xBB\xBF" "CREATE TABLE b (x int);\n";
  std::string dir = MakeFiles("import_flyway", {{"V1__create_a.sql", v1}, {"V2__create_b.sql", v2},
                                              {"V3__create_c.sql", "CREATE TABLE c (x int);\n"}});
  auto conn = Connect(db);
  ASSERT_TRUE(conn.Exec("CREATE TABLE a (x int); CREATE TABLE b (x int);"
                        "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), "
                        "description varchar(200) NOT NULL, type varchar(20) NOT NULL, script varchar(1000) NOT NULL, "
                        "checksum int, installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(), "
                        "execution_time int NOT NULL, success boolean NOT NULL)").ok());
  ASSERT_TRUE(conn.Query("INSERT INTO flyway_schema_history VALUES (1, '1', 'create a', 'SQL', 'V1__create_a.sql', $1, "
                         "'app', now(), 12, true), (2, '2', 'create b', 'SQL', 'V2__create_b.sql', $2, 'app', now(), 7, true)",
                         {std::to_string(FlywayChecksum(v1)), std::to_string(FlywayChecksum(v2))}).ok());
  auto r = RunMigrate(db, dir, {"import", "--from", "flyway"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("imported 2 flyway migration(s)"), std::string::npos) << r.out;
  EXPECT_EQ(QueryValue(db, "SELECT string_agg(checksum, ',' ORDER BY version) ~ '^flyway-crc32:-?[0-9]+,flyway-crc32:-?[0-9]+$' FROM schema_migrations"), "t");
  EXPECT_EQ(RunMigrate(db, dir, {"validate"}).exit_code, 0) << "imported rows validate with Flyway's checksum";
  EXPECT_EQ(RunMigrate(db, dir, {"up"}).exit_code, 0);
  EXPECT_EQ(QueryValue(db, "SELECT to_regclass('c') IS NOT NULL"), "t");
  std::ofstream(dir + "/V1__create_a.sql", std::ios::app) << "-- edited\n";
  auto v = RunMigrate(db, dir, {"validate"});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.out.find("changed on disk"), std::string::npos);
  // A second import into a non-empty history is refused.
  EXPECT_EQ(RunMigrate(db, dir, {"import", "--from", "flyway"}).exit_code, 2);
}

TEST(Import, FlywayNonIntegerVersionsAreRefused) {
  std::string db = CreateDatabase("import_flyway_bad");
  std::string dir = MakeFiles("import_flyway_bad", {{"V1__a.sql", "SELECT 1;"}});
  ASSERT_TRUE(Connect(db).Exec("CREATE TABLE flyway_schema_history (installed_rank int, version varchar(50), description "
                               "text, type text, script text, checksum int, installed_by text, installed_on timestamp, "
                               "execution_time int, success boolean);"
                               "INSERT INTO flyway_schema_history VALUES (1, '1.1', 'x', 'SQL', 'V1_1__x.sql', 1, 'a', now(), 1, true)")
                  .ok());
  auto r = RunMigrate(db, dir, {"import", "--from", "flyway"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("1.1 is not an integer"), std::string::npos) << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM schema_migrations"), "0");
}

TEST(Import, DbmateInPlaceWithItsFileFormat) {
  std::string db = CreateDatabase("import_dbmate");
  std::string dir = MakeFiles("import_dbmate",
                            {{"20240101120000_create_a.sql", "-- migrate:up\nCREATE TABLE a (x int);\n\n-- migrate:down\nDROP TABLE a;\n"},
                             {"20240102120000_create_b.sql", "-- migrate:up\nCREATE TABLE b (x int);\n\n-- migrate:down\nDROP TABLE b;\n"}});
  ASSERT_TRUE(Connect(db).Exec("CREATE TABLE a (x int);"
                               "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);"
                               "INSERT INTO schema_migrations VALUES ('20240101120000');").ok());
  auto r = RunMigrate(db, dir, {"import", "--from", "dbmate"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunMigrate(db, dir, {"up"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"),
            "20240101120000,20240102120000");
  // The down section of a dbmate file rolls back.
  EXPECT_EQ(RunMigrate(db, dir, {"down"}).exit_code, 0);
  EXPECT_EQ(QueryValue(db, "SELECT to_regclass('b') IS NULL AND to_regclass('a') IS NOT NULL"), "t");
}

TEST(Import, DbmateFromAnotherTable) {
  std::string db = CreateDatabase("import_dbmate_other");
  std::string dir = MakeFiles("import_dbmate_other", {{"20240101120000_create_a.sql", "-- migrate:up\nCREATE TABLE a (x int);\n"}});
  ASSERT_TRUE(Connect(db).Exec("CREATE TABLE a (x int); CREATE SCHEMA legacy;"
                               "CREATE TABLE legacy.dbmate_migrations (version varchar(128) PRIMARY KEY);"
                               "INSERT INTO legacy.dbmate_migrations VALUES ('20240101120000');").ok());
  auto r = RunMigrate(db, dir, {"import", "--from", "dbmate", "--from-table", "legacy.dbmate_migrations"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(QueryValue(db, "SELECT source FROM schema_migrations"), "dbmate");
  EXPECT_EQ(RunMigrate(db, dir, {"validate"}).exit_code, 0);
  r = RunMigrate(db, dir, {"import", "--from", "dbmate", "--from-table", "legacy.nope"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace pgk::test
