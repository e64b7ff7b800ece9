// The commands end to end on an S3 repository (s3rver, tests/harness/s3.h): backup,
// backups list/show/export, verify, restore, drill, expire and repo rekey. Each test has its own
// bucket. The driver itself is tested in s3_storage_test.cc, the faults (server gone,
// wrong key) in backup_faults_test.cc.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/harness.h"
#include "harness/s3.h"
#include "storage/s3/s3_storage.h"

namespace pgk::test {

namespace {

using Env = std::map<std::string, std::string>;

std::string NewRepo(const std::string& name) {
  std::string bucket = S3().NewBucket(name);
  return bucket.empty() ? "" : "s3://" + bucket + "/pgkeeper";
}

std::string NewName(const std::string& prefix) {
  static int counter = 0;
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

std::string Backup(const std::string& db, const std::string& repo, const Env& env) {
  auto r = RunCli({"backup", "--db", UrlWithPassword(db), "--repo", repo, "--json"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  return r.exit_code == 0 ? r.Json()["id"].get<std::string>() : "";
}

nlohmann::json ListJson(const std::string& repo, const Env& env) {
  auto r = RunCli({"backups", "list", "--repo", repo, "--json"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  return r.exit_code == 0 ? r.Json() : nlohmann::json::object();
}

}  // namespace

TEST(S3Commands, BackupListShowVerifyRestoreDrillExport) {
  std::string db = CreateExampleDatabase("s3c_all", 300);
  std::string repo = NewRepo("all");
  ASSERT_FALSE(repo.empty());
  Env env = S3().Env();
  auto b = RunCli({"backup", "--db", UrlWithPassword(db), "--repo", repo, "--json", "--jobs", "3"}, env);
  ASSERT_EQ(b.exit_code, 0) << b.All();
  std::string id = b.Json()["id"];
  EXPECT_EQ(b.Json()["repository"], repo);
  EXPECT_EQ(b.Json()["tables"], 10);

  auto list = ListJson(repo, env);
  ASSERT_EQ(list["backups"].size(), 1u) << list.dump();
  EXPECT_EQ(list["backups"][0]["id"], id);
  EXPECT_TRUE(list["unfinished"].empty());
  auto human = RunCli({"backups", "list", "--repo", repo}, env);
  EXPECT_EQ(human.exit_code, 0) << human.All();
  EXPECT_NE(human.out.find(id), std::string::npos) << human.out;

  auto show = RunCli({"backups", "show", "latest", "--repo", repo, "--json"}, env);
  ASSERT_EQ(show.exit_code, 0) << show.All();
  EXPECT_EQ(show.Json()["id"], id);
  EXPECT_EQ(show.Json()["row_counts"]["public.positions"], 300);

  auto verify = RunCli({"verify", "--all", "--repo", repo, "--json"}, env);
  ASSERT_EQ(verify.exit_code, 0) << verify.All();
  EXPECT_EQ(verify.Json()["ok"], true);
  EXPECT_EQ(verify.Json()["failed"], 0);
  EXPECT_GT(verify.Json()["files"].get<int>(), 10);

  std::string target = NewName("s3c_all_restored");
  auto r = RunCli({"restore", "--db", UrlWithPassword("postgres"), "--repo", repo, "--into", target, "--json"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.Json()["backup"], id);
  EXPECT_EQ(r.Json()["counts_match"], true);
  EXPECT_EQ(TableFingerprints(target), TableFingerprints(db));

  auto drill = RunCli({"drill", "--repo", repo, "--db", UrlWithPassword(db), "--target", "server", "--json"}, env);
  ASSERT_EQ(drill.exit_code, 0) << drill.All();
  EXPECT_EQ(drill.Json()["passed"], true) << drill.out;
  EXPECT_EQ(drill.Json()["schema_compared"], true) << drill.out;
  // The drill's record is an object in the bucket.
  std::string record = drill.Json()["record"];
  EXPECT_TRUE(record.starts_with("drills/")) << record;
  EXPECT_TRUE(std::filesystem::exists(S3().dir() + "/" + repo.substr(5) + "/" + record + "._S3rver_object")) << record;

  std::string dir = TempPath("s3c_export");
  auto exported = RunCli({"backups", "export", id, dir, "--repo", repo, "--json"}, env);
  ASSERT_EQ(exported.exit_code, 0) << exported.All();
  std::ifstream in(dir + "/" + id + ".sql");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("COPY \"public\".\"positions\" (\"id\", "), std::string::npos);

  // Nothing else was left in the bucket: the manifest is written last, temp objects do
  // not exist on S3, and the locks are gone.
  std::vector<std::string> stray;
  for (const auto& e : std::filesystem::recursive_directory_iterator(S3().dir() + "/" + repo.substr(5))) {
    std::string rel = e.path().string();
    if (e.is_regular_file() && rel.find("/locks/") != std::string::npos) stray.push_back(rel);
  }
  EXPECT_TRUE(stray.empty()) << stray.front();
}

// expire on S3: retention removes whole backups (every object), and an unfinished
// backup's debris goes once it is older than the grace period.
TEST(S3Commands, ExpireRemovesBackupsAndUnfinishedDebris) {
  std::string db = CreateDatabase("s3c_expire");
  ASSERT_TRUE(Connect(db).Exec("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 50) g").ok());
  std::string repo = NewRepo("expire");
  ASSERT_FALSE(repo.empty());
  Env env = S3().Env();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Backup(db, repo, env));
  ASSERT_FALSE(ids.back().empty());
  // Debris of a backup killed before its manifest: two objects, no manifest.
  S3().UseInProcess();
  auto storage = storage::OpenS3Storage(repo, {});
  ASSERT_TRUE(storage.ok()) << storage.status().ToString();
  ASSERT_TRUE((*storage)->Put("backups/20200101T000000Z-L/schema/pre-data.sql", "partial").ok());
  ASSERT_TRUE((*storage)->Put("backups/20200101T000000Z-L/data/0001.copy", "partial").ok());
  auto list = ListJson(repo, env);
  EXPECT_EQ(list["backups"].size(), 3u);
  EXPECT_EQ(list["unfinished"], nlohmann::json::array({"20200101T000000Z-L"})) << list.dump();

  // Within the grace period the debris may be a running backup: left alone.
  auto retained = RunCli({"expire", "--repo", repo, "--keep-last", "1", "--json"}, env);
  ASSERT_EQ(retained.exit_code, 0) << retained.All();
  EXPECT_EQ(retained.Json()["unfinished"][0]["recent"], true) << retained.out;
  EXPECT_EQ(retained.Json()["unfinished"][0]["removed"], false) << retained.out;
  // That run applied retention: only the newest backup is left.
  EXPECT_EQ(retained.Json()["removed"], 2);
  auto e = RunCli({"expire", "--repo", repo, "--keep-last", "1", "--unfinished-grace", "0", "--json"}, env);
  ASSERT_EQ(e.exit_code, 0) << e.All();
  EXPECT_EQ(e.Json()["unfinished"][0]["removed"], true) << e.out;

  list = ListJson(repo, env);
  ASSERT_EQ(list["backups"].size(), 1u) << list.dump();
  EXPECT_EQ(list["backups"][0]["id"], ids.back());
  EXPECT_TRUE(list["unfinished"].empty()) << list.dump();
  // Every object of the removed backups is gone, not just their manifests.
  auto left = (*storage)->List("backups/");
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  for (const auto& f : *left) EXPECT_TRUE(f.path.starts_with("backups/" + ids.back() + "/")) << f.path;
  auto verify = RunCli({"verify", "--all", "--repo", repo}, env);
  EXPECT_EQ(verify.exit_code, 0) << verify.All();
}

// repo rekey rewrites the manifests several at a time (a round trip each on S3): every
// backup ends up under the new key, none under the old one.
TEST(S3Commands, RekeyRewrapsEveryBackup) {
  std::string db = CreateDatabase("s3c_rekey");
  ASSERT_TRUE(Connect(db).Exec("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 20) g").ok());
  std::string repo = NewRepo("rekey");
  ASSERT_FALSE(repo.empty());
  Env env = S3().Env();
  env["PGKEEPER_ENCRYPTION_KEY"] = std::string(64, 'a');
  const int kBackups = 12;
  for (int i = 0; i < kBackups; ++i) ASSERT_FALSE(Backup(db, repo, env).empty());
  std::string key_file = TempPath(NewName("s3c_rekey_key"));
  std::ofstream(key_file) << std::string(64, 'b') << "\n";
  ::chmod(key_file.c_str(), 0600);

  auto r = RunCli({"repo", "rekey", "--repo", repo, "--new-key-file", key_file, "--yes", "--json"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.Json()["backups"], kBackups) << r.out;
  Env with_new = S3().Env();
  auto verify = RunCli({"verify", "--all", "--repo", repo, "--key-file", key_file, "--json"}, with_new);
  EXPECT_EQ(verify.exit_code, 0) << verify.All();
  auto old = RunCli({"verify", "--all", "--repo", repo}, env);
  EXPECT_EQ(old.exit_code, 2) << old.All();
}

}  // namespace pgk::test
