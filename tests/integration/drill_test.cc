// Restore drills through the CLI: on the embedded cluster and on the --db server, and the
// ways a drill must fail (a wrong row count, a schema that differs) or refuse (no backup).
// Each test uses its own database and repository.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "harness/harness.h"

namespace pgk::test {

namespace {

std::string Backup(const std::string& db, const std::string& repo) {
  auto r = RunCli({"backup", "--db", UrlWithPassword(db), "--repo", repo, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  if (r.exit_code != 0) return "";
  return r.Json()["id"].get<std::string>();
}

CliResult Drill(const std::string& db, const std::string& repo, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"drill", "--repo", repo, "--db", UrlWithPassword(db), "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCli(args);
}

std::string ScratchDatabases() {
  return QueryValue("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgkeeper\\_drill\\_%'");
}

std::vector<nlohmann::json> Records(const std::string& repo) {
  std::vector<nlohmann::json> out;
  if (!std::filesystem::exists(repo + "/drills")) return out;
  for (const auto& e : std::filesystem::directory_iterator(repo + "/drills")) {
    if (e.path().extension() != ".json") continue;
    std::ifstream in(e.path());
    out.push_back(nlohmann::json::parse(in));
  }
  return out;
}

}  // namespace

TEST(Drill, LocalClusterPassesAndIsRecorded) {
  std::string db = CreateExampleDatabase("dr_local", 300);
  std::string repo = TempPath("repo_drill_local");
  std::string id = Backup(db, repo);
  ASSERT_FALSE(id.empty());
  std::string dir = TempPath("drill_cluster");
  auto r = Drill(db, repo, {"--dir", dir});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto j = r.Json();
  EXPECT_EQ(j["passed"], true);
  EXPECT_EQ(j["backup"], id);
  EXPECT_EQ(j["target"], "local");
  EXPECT_EQ(j["schema_compared"], true) << j.dump();
  EXPECT_TRUE(j["count_mismatches"].empty());
  EXPECT_TRUE(j["schema_differences"].empty());
  EXPECT_GT(j["rows"].get<int64_t>(), 300);
  EXPECT_GT(j["seconds"].get<double>(), 0);
  EXPECT_EQ(j["database"].get<std::string>().rfind("pgkeeper_drill_", 0), 0u);

  auto records = Records(repo);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["backup"], id);
  EXPECT_EQ(records[0]["passed"], true);
  EXPECT_EQ(std::filesystem::path(j["record"].get<std::string>()).filename().string().find(id) != std::string::npos,
            true);

  // The cluster was started by the drill, so it is stopped again.
  auto cluster = pg::LocalCluster::Open({.dir = dir});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  EXPECT_FALSE((*cluster)->RunningPid().has_value());
  EXPECT_EQ(ScratchDatabases(), "0");

  // The human summary.
  auto human = RunCli({"drill", "--repo", repo, "--db", UrlWithPassword(db), "--dir", dir});
  ASSERT_EQ(human.exit_code, 0) << human.All();
  EXPECT_NE(human.out.find("drill passed"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("schema matches"), std::string::npos) << human.out;
  EXPECT_EQ(Records(repo).size(), 2u);
}

TEST(Drill, ServerTargetPassesAndDropsTheScratchDatabase) {
  std::string db = CreateExampleDatabase("dr_server", 300);
  std::string repo = TempPath("repo_drill_server");
  std::string id = Backup(db, repo);
  ASSERT_FALSE(id.empty());
  auto r = Drill(db, repo, {"--target", "server"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.Json()["passed"], true);
  EXPECT_EQ(r.Json()["target"], "server");
  EXPECT_EQ(r.Json()["schema_compared"], true);
  EXPECT_EQ(ScratchDatabases(), "0");
  EXPECT_EQ(Records(repo).size(), 1u);

  // --keep leaves it for inspection.
  r = Drill(db, repo, {"--target", "server", "--keep"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  std::string kept = r.Json()["database"].get<std::string>();
  EXPECT_EQ(QueryValue(kept, "SELECT count(*) FROM positions"), "300");
  auto conn = Connect("postgres");
  ASSERT_TRUE(conn.Exec("DROP DATABASE " + kept).ok());
}

TEST(Drill, TamperedRowCountFails) {
  std::string db = CreateExampleDatabase("dr_tamper", 300);
  std::string repo = TempPath("repo_drill_tamper");
  std::string id = Backup(db, repo);
  ASSERT_FALSE(id.empty());
  std::string path = repo + "/backups/" + id + "/manifest.json";
  std::ifstream in(path);
  auto m = nlohmann::json::parse(in);
  in.close();
  m["row_counts"]["public.positions"] = 301;
  std::ofstream(path) << m.dump(2);

  auto r = Drill(db, repo, {"--target", "server"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  auto j = r.Json();
  EXPECT_EQ(j["passed"], false);
  ASSERT_EQ(j["count_mismatches"].size(), 1u);
  EXPECT_EQ(j["count_mismatches"][0]["table"], "public.positions");
  EXPECT_EQ(j["count_mismatches"][0]["expected"], 301);
  EXPECT_EQ(j["count_mismatches"][0]["actual"], 300);
  EXPECT_EQ(ScratchDatabases(), "0");
  auto records = Records(repo);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["passed"], false);

  auto human = RunCli({"drill", "--repo", repo, "--db", UrlWithPassword(db), "--target", "server"});
  EXPECT_EQ(human.exit_code, 1) << human.All();
  EXPECT_NE(human.out.find("public.positions"), std::string::npos) << human.All();
}

TEST(Drill, SchemaComparedWithTheSchemaRecordedInTheBackup) {
  std::string db = CreateExampleDatabase("dr_recorded", 50);
  std::string repo = TempPath("repo_drill_recorded");
  std::string id = Backup(db, repo);
  ASSERT_FALSE(id.empty());
  // The live database moving on (even without a migration) does not matter: the restored
  // schema is compared with the one the backup recorded.
  ASSERT_TRUE(Connect(db).Exec("CREATE TABLE added_later (id int PRIMARY KEY)").ok());
  auto r = Drill(db, repo, {"--target", "server"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.Json()["schema_compared"], true) << r.out;
  EXPECT_EQ(r.Json()["schema_compared_with"], "the backup's recorded schema") << r.out;
  EXPECT_TRUE(r.Json()["schema_differences"].empty()) << r.out;
  auto human = RunCli({"drill", "--repo", repo, "--target", "server", "--db", UrlWithPassword(db)});
  EXPECT_NE(human.out.find("schema matches the backup's recorded schema"), std::string::npos) << human.All();
  EXPECT_EQ(ScratchDatabases(), "0");
}

// Backups from before the schema was recorded: drop the schema-snapshot entry from the
// manifest, as such a backup's manifest reads.
static void ForgetRecordedSchema(const std::string& repo, const std::string& id) {
  std::string path = repo + "/backups/" + id + "/manifest.json";
  std::ifstream in(path);
  auto m = nlohmann::json::parse(in);
  auto& files = m["files"];
  for (auto it = files.begin(); it != files.end();) {
    it = (*it)["kind"] == "schema-snapshot" ? files.erase(it) : it + 1;
  }
  std::ofstream(path) << m.dump(2);
}

TEST(Drill, WithoutARecordedSchemaComparedOnlyAtTheBackupsMigrationVersion) {
  std::string db = CreateExampleDatabase("dr_schema", 50);
  std::string repo = TempPath("repo_drill_schema");
  std::string id = Backup(db, repo);
  ASSERT_FALSE(id.empty());
  ForgetRecordedSchema(repo, id);
  auto conn = Connect(db);
  // Same migration version, different schema: an error.
  ASSERT_TRUE(conn.Exec("CREATE TABLE added_by_hand (id int PRIMARY KEY)").ok());
  auto r = Drill(db, repo, {"--target", "server"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_EQ(r.Json()["schema_compared"], true);
  EXPECT_EQ(r.Json()["schema_compared_with"], "the live database") << r.out;
  ASSERT_FALSE(r.Json()["schema_differences"].empty()) << r.out;
  EXPECT_NE(r.Json()["schema_differences"][0].get<std::string>().find("added_by_hand"), std::string::npos) << r.out;
  EXPECT_EQ(ScratchDatabases(), "0");

  // A newer migration on the live database: not compared, and the drill passes.
  ASSERT_TRUE(conn.Exec("INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms, applied_by, "
                        "applied_host, success, no_transaction, source) SELECT version + 1, name, checksum, "
                        "applied_at, duration_ms, applied_by, applied_host, success, no_transaction, source "
                        "FROM schema_migrations ORDER BY version DESC LIMIT 1")
                  .ok());
  r = Drill(db, repo, {"--target", "server"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.Json()["schema_compared"], false);
  EXPECT_NE(r.Json()["schema_note"].get<std::string>().find("moved on"), std::string::npos) << r.out;
}

TEST(Drill, NoBackupIsRefused) {
  std::string db = CreateExampleDatabase("dr_none", 10);
  std::string repo = TempPath("repo_drill_none");
  ASSERT_FALSE(Backup(db, repo).empty());
  std::filesystem::remove_all(repo + "/backups");
  auto r = RunCli({"drill", "--repo", repo, "--db", UrlWithPassword(db), "--target", "server"});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("no "), std::string::npos) << r.err;
  EXPECT_EQ(ScratchDatabases(), "0");
  EXPECT_TRUE(Records(repo).empty());
}

}  // namespace pgk::test
