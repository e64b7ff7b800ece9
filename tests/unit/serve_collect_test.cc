// serve's repository refresh: one listing per refresh, manifests read once and then taken
// from the cache, backups in the order they started, removed backups gone, the newest
// drill record found. Against a real posix repository in a temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "repo/repository.h"
#include "serve/collect.h"

namespace pgk::serve {
namespace {

class CollectRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("pgk-collect-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    auto repo = repo::Repository::Open({.url = dir_.string(), .create = true});
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(repo).value();
    options_.repo_url = dir_.string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& id, const std::string& tag, int64_t start_s) {
    repo::Manifest m;
    m.id = id;
    m.type = "logical";
    m.tag = tag;
    m.database = "app";
    m.start_time = repo::Iso8601(start_s);
    m.stop_time = repo::Iso8601(start_s + 5);
    ASSERT_TRUE(repo_->WriteManifest(m).ok());
  }
  std::vector<std::string> Ids(const StatusSnapshot& s) {
    std::vector<std::string> ids;
    for (const auto& b : s.backups) ids.push_back(b.id + "/" + b.tag);
    return ids;
  }

  std::filesystem::path dir_;
  std::unique_ptr<repo::Repository> repo_;
  CollectOptions options_;
  ManifestCache cache_;
};

TEST_F(CollectRepositoryTest, ReadsEachManifestOnceAndFollowsAddsAndRemovals) {
  Write("20261201T010000Z-L", "daily", 1796086800);
  Write("20261130T010000Z-L", "weekly", 1796000400);
  StatusSnapshot s;
  CollectRepository(options_, &cache_, &s);
  EXPECT_EQ(s.repository_error, "");
  EXPECT_EQ(Ids(s), (std::vector<std::string>{"20261130T010000Z-L/weekly", "20261201T010000Z-L/daily"}));
  EXPECT_EQ(cache_.reads, 2);
  EXPECT_GT(s.repository_bytes, 0u);

  CollectRepository(options_, &cache_, &s);
  EXPECT_EQ(cache_.reads, 2) << "unchanged manifests come from the cache";
  EXPECT_EQ(s.backups.size(), 2u);

  Write("20261202T010000Z-L", "daily", 1796173200);
  ASSERT_TRUE(repo_->storage().RemovePrefix(repo::BackupDir("20261130T010000Z-L")).ok());
  ASSERT_TRUE(repo_->storage().Put("drills/20261202T020000Z.json",
                                   R"({"started":"2026-12-02T02:00:00Z","passed":true,"seconds":4.5,"backup":"x"})")
                  .ok());
  ASSERT_TRUE(repo_->storage().Put("drills/20261201T020000Z.json", R"({"passed":false})").ok());
  CollectRepository(options_, &cache_, &s);
  EXPECT_EQ(cache_.reads, 3) << "only the new manifest is read";
  EXPECT_EQ(Ids(s), (std::vector<std::string>{"20261201T010000Z-L/daily", "20261202T010000Z-L/daily"}));
  EXPECT_EQ(cache_.entries.size(), 2u) << "the removed backup left the cache";
  ASSERT_TRUE(s.last_drill.has_value());
  EXPECT_TRUE(s.last_drill->passed);
  EXPECT_DOUBLE_EQ(s.last_drill->restore_seconds, 4.5);
}

TEST_F(CollectRepositoryTest, AnUnreadableRepositoryKeepsThePreviousBackups) {
  Write("20261201T010000Z-L", "daily", 1796086800);
  StatusSnapshot s;
  CollectRepository(options_, &cache_, &s);
  ASSERT_EQ(s.backups.size(), 1u);
  options_.repo_url = (dir_ / "missing").string();
  CollectRepository(options_, &cache_, &s);
  EXPECT_NE(s.repository_error, "");
  EXPECT_EQ(s.backups.size(), 1u);
}

}  // namespace
}  // namespace pgk::serve
