// `pgkeeper check` on real servers: empty and example databases, human and JSON output,
// exact counts, and an unhealthy server.
#include <gtest/gtest.h>

#include <set>

#include "harness/harness.h"
#include "pg/conninfo.h"

namespace pgk::test {

TEST(Check, EmptyDatabaseHuman) {
  std::string db = CreateDatabase("check_empty");
  auto r = RunCli({"check", "--db", UrlWithPassword(db)});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("PostgreSQL 15"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("data_checksums"), std::string::npos);
  EXPECT_NE(r.out.find("healthy"), std::string::npos);
  EXPECT_NE(r.out.find("postgres:***@"), std::string::npos);
  EXPECT_EQ(r.All().find(Password()), std::string::npos);
}

TEST(Check, EmptyDatabaseJson) {
  std::string db = CreateDatabase("check_empty_json");
  auto r = RunCli({"check", "--json", "--db", UrlWithPassword(db)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = r.Json();
  EXPECT_EQ(j["healthy"], true);
  EXPECT_EQ(j["database"]["name"], db);
  EXPECT_EQ(j["tables"].size(), 0u);
  EXPECT_EQ(j["settings"]["data_checksums"], "on");
  EXPECT_EQ(j["settings"]["wal_level"], "replica");
  EXPECT_TRUE(j["settings"].contains("archive_mode"));
  EXPECT_TRUE(j["settings"].contains("archive_command"));
  EXPECT_TRUE(j["settings"].contains("max_wal_senders"));
  EXPECT_EQ(j["server"]["version_num"].get<int>() / 10000, 15);
  EXPECT_GT(j["database"]["size_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(j["connection"]["target"].get<std::string>().find(Password()), std::string::npos);
  // Archiving off is a warning, not an error.
  bool archive_warning = false;
  for (const auto& f : j["findings"]) archive_warning |= f["check"] == "archive_mode" && f["severity"] == "warning";
  EXPECT_TRUE(archive_warning);
  // --strict turns warnings into a failing exit code.
  auto strict = RunCli({"check", "--json", "--strict", "--db", UrlWithPassword(db)});
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_EQ(strict.Json()["healthy"], false);
}

TEST(Check, ExampleDatabaseWithExactCounts) {
  std::string db = CreateExampleDatabase("check_example", 300);
  auto conn = Connect(db);
  auto expected_positions = *conn.QueryValue("SELECT count(*) FROM positions");
  auto expected_events = *conn.QueryValue("SELECT count(*) FROM position_events");

  auto r = RunCli({"check", "--json", "--exact", "--db", UrlWithPassword(db)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = r.Json();
  EXPECT_EQ(j["exact_counts"], true);
  ASSERT_EQ(j["tables"].size(), 10u);  // nine application tables and the migration history
  EXPECT_EQ(j["sections"]["migrations"]["current_version"], 5);
  EXPECT_EQ(j["sections"]["migrations"]["dirty"], false);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& t : j["tables"]) by_name[t["name"]] = t;
  EXPECT_EQ(std::to_string(by_name["positions"]["exact_rows"].get<int64_t>()), expected_positions);
  EXPECT_EQ(std::to_string(by_name["position_events"]["exact_rows"].get<int64_t>()), expected_events);
  EXPECT_EQ(by_name["institutions"]["exact_rows"], 12);
  EXPECT_GT(by_name["positions"]["index_bytes"].get<int64_t>(), 0);
  EXPECT_GE(by_name["positions"]["total_bytes"].get<int64_t>(),
            by_name["positions"]["table_bytes"].get<int64_t>() + by_name["positions"]["index_bytes"].get<int64_t>());
  // Seed runs ANALYZE, so estimates exist.
  EXPECT_GE(by_name["positions"]["row_estimate"].get<int64_t>(), 1);

  auto human = RunCli({"check", "--exact", "--db", UrlWithPassword(db)});
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.out.find("public.positions"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("public.ledger_events"), std::string::npos);
}

TEST(Check, AwkwardTableNamesAreCountedAndShown) {
  std::string db = CreateDatabase("check_awkward");
  auto conn = Connect(db);
  ASSERT_TRUE(conn.Exec("CREATE SCHEMA \"Größe\"; CREATE TABLE \"Größe\".\"Odd \"\"Name\"\"\" (x int);"
                        "INSERT INTO \"Größe\".\"Odd \"\"Name\"\"\" SELECT generate_series(1, 5);"
                        "CREATE UNLOGGED TABLE scratch (x int);"
                        "CREATE TABLE parted (x int) PARTITION BY RANGE (x);"
                        "CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10);"
                        "INSERT INTO parted SELECT generate_series(0, 9);")
                  .ok());
  auto r = RunCli({"check", "--json", "--exact", "--db", UrlWithPassword(db)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = r.Json();
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& t : j["tables"]) by_name[t["name"]] = t;
  EXPECT_EQ(by_name["Odd \"Name\""]["exact_rows"], 5);
  EXPECT_EQ(by_name["Odd \"Name\""]["schema"], "Größe");
  EXPECT_EQ(by_name["scratch"]["unlogged"], true);
  EXPECT_EQ(by_name["parted"]["kind"], "partitioned table");
  EXPECT_EQ(by_name["parted"]["exact_rows"], 10);
  EXPECT_EQ(by_name["parted_1"]["exact_rows"], 10);
}

TEST(Check, InvalidIndexIsAWarning) {
  std::string db = CreateDatabase("check_invalid_index");
  auto conn = Connect(db);
  ASSERT_TRUE(conn.Exec("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (1);").ok());
  // A unique index built concurrently over duplicates fails and stays behind, invalid.
  EXPECT_FALSE(conn.Exec("CREATE UNIQUE INDEX CONCURRENTLY t_x ON t (x)").ok());
  auto r = RunCli({"check", "--json", "--db", UrlWithPassword(db)});
  EXPECT_EQ(r.exit_code, 0);
  auto j = r.Json();
  bool found = false;
  for (const auto& f : j["findings"]) found |= f["check"] == "invalid_index";
  EXPECT_TRUE(found) << r.out;
}

// A server with fsync=off and archive_mode=on without a command is unhealthy: exit 1.
TEST(Check, UnhealthyServerExitsOne) {
  auto c = pg::LocalCluster::Open({.dir = TempPath("unhealthy_cluster"), .settings = {"fsync=off", "archive_mode=on"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE((*c)->Init().ok());
  ASSERT_TRUE((*c)->Start().ok());
  auto parsed = pg::ParseConninfo((*c)->ConnInfo("postgres"));
  std::string url = "postgresql://postgres:" + (*parsed)["password"] + "@127.0.0.1:" + std::to_string((*c)->port()) + "/postgres";
  auto r = RunCli({"check", "--json", "--db", url});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto j = r.Json();
  EXPECT_EQ(j["healthy"], false);
  std::set<std::string> errors;
  for (const auto& f : j["findings"])
    if (f["severity"] == "error") errors.insert(f["check"]);
  EXPECT_TRUE(errors.count("fsync"));
  EXPECT_TRUE(errors.count("archive_command"));
  auto human = RunCli({"check", "--db", url});
  EXPECT_EQ(human.exit_code, 1);
  EXPECT_NE(human.out.find("unhealthy"), std::string::npos);
  EXPECT_NE(human.out.find("FAIL"), std::string::npos);
  EXPECT_TRUE((*c)->Stop().ok());
}

}  // namespace pgk::test
