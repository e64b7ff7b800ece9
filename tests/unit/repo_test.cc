#include <gtest/gtest.h>

#include <set>

#include "repo/manifest.h"
#include "repo/repository.h"
#include "storage/memory/memory_storage.h"
#include "repo/retention.h"

namespace pgk::repo {

namespace {

Manifest Sample() {
  Manifest m;
  m.id = BackupId(1795309323, "logical");
  m.type = "logical";
  m.database = "escrowgrid";
  m.server_version = "15.18";
  m.start_time = Iso8601(1795309323);
  m.stop_time = Iso8601(1795395730);
  m.duration_s = 7.25;
  m.migration_version = 5;
  m.row_counts = {{"public.positions", 5000}, {"public.\"Odd Table\"", 3}};
  m.tag = "daily";
  m.pgkeeper_version = "0.1.0";
  m.compression = "zstd";
  m.compression_level = 3;
  m.cipher = "aes-256-gcm";
  m.wrapped_data_key = "c2VjcmV0";
  m.files.push_back({.name = "data/0001.copy", .kind = "table-data", .table = "public.positions", .rows = 5000,
                     .original_size = 1000, .original_sha256 = "aa", .stored_size = 400, .stored_sha256 = "bb",
                     .compression = "zstd", .cipher = "aes-256-gcm"});
  m.files.push_back({.name = "schema/pre-data.sql", .kind = "schema-pre", .original_size = 50, .original_sha256 = "cc",
                     .stored_size = 40, .stored_sha256 = "dd", .compression = "zstd", .cipher = "aes-256-gcm"});
  return m;
}

constexpr int64_t kDay = 86400;

}  // namespace

TEST(RepoManifest, RoundTrip) {
  Manifest m = Sample();
  auto parsed = ParseManifest(SerializeManifest(m), "manifest.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, m);
  EXPECT_EQ(parsed->original_bytes(), 1050u);
  EXPECT_EQ(parsed->stored_bytes(), 440u);
}

TEST(RepoManifest, RefusesDamage) {
  EXPECT_EQ(ParseManifest("{", "m").status().code(), Code::kMalformed);
  EXPECT_EQ(ParseManifest("{\"format\": 99}", "m").status().code(), Code::kMalformed);
  Manifest m = Sample();
  m.files[0].name = "../../etc/passwd";
  auto r = ParseManifest(SerializeManifest(m), "m");
  EXPECT_EQ(r.status().code(), Code::kMalformed);
  EXPECT_NE(r.status().message().find("invalid file path"), std::string::npos);
}

TEST(RepoManifest, IdsAndTimes) {
  EXPECT_EQ(BackupId(0, "logical"), "19700101T000000Z-L");
  EXPECT_EQ(BackupId(0, "globals"), "19700101T000000Z-G");
  EXPECT_EQ(Iso8601(1795309323), "2026-11-22T01:02:03Z");
  EXPECT_EQ(*ParseIso8601("2026-11-22T01:02:03Z"), 1795309323);
  EXPECT_FALSE(ParseIso8601("yesterday").ok());
  EXPECT_EQ(ManifestPath("X"), "backups/X/manifest.json");
  // Ids sort like times.
  EXPECT_LT(BackupId(1000, "logical"), BackupId(2000, "logical"));
}

TEST(RepoRetention, EmptyPolicyKeepsEverything) {
  auto d = ApplyRetention({{"a", 0}, {"b", kDay}}, {}, 10 * kDay);
  for (const auto& x : d) EXPECT_TRUE(x.keep);
}

TEST(RepoRetention, KeepLast) {
  std::vector<RetentionItem> items;
  for (int i = 0; i < 5; ++i) items.push_back({"b" + std::to_string(i), i * kDay});
  auto d = ApplyRetention(items, {.keep_last = 2}, 10 * kDay);
  std::vector<bool> kept;
  for (const auto& x : d) kept.push_back(x.keep);
  EXPECT_EQ(kept, (std::vector<bool>{false, false, false, true, true}));
}

TEST(RepoRetention, GrandfatherFatherSon) {
  // Two backups a day for 90 days, starting 2026-01-01 (a Thursday).
  const int64_t start = 1767225600;  // 2026-01-01T00:00:00Z
  std::vector<RetentionItem> items;
  for (int day = 0; day < 90; ++day) {
    items.push_back({"d" + std::to_string(day) + "a", start + day * kDay + 3600});
    items.push_back({"d" + std::to_string(day) + "b", start + day * kDay + 13 * 3600});
  }
  int64_t now = start + 90 * kDay;
  auto d = ApplyRetention(items, {.keep_daily = 7, .keep_weekly = 4, .keep_monthly = 3}, now);
  std::set<std::string> kept;
  for (const auto& x : d)
    if (x.keep) kept.insert(x.id);
  // Daily: the newest backup of each of the last 7 days.
  for (int day = 83; day < 90; ++day) EXPECT_TRUE(kept.count("d" + std::to_string(day) + "b")) << day;
  EXPECT_FALSE(kept.count("d89a"));
  // Monthly: the newest of March (day 89), February (day 58) and January (day 30).
  EXPECT_TRUE(kept.count("d58b"));
  EXPECT_TRUE(kept.count("d30b"));
  // Total is bounded: 7 daily + at most 4 weekly + 3 monthly, overlaps counted once.
  EXPECT_LE(kept.size(), 14u);
  EXPECT_GE(kept.size(), 10u);
  // Every decision says why.
  for (const auto& x : d) {
    if (x.keep) {
      EXPECT_FALSE(x.reasons.empty()) << x.id;
    }
  }
}

TEST(RepoRetention, MinAgeProtectsRecentBackups) {
  std::vector<RetentionItem> items = {{"old", 0}, {"new1", 10 * kDay}, {"new2", 10 * kDay + 60}};
  auto d = ApplyRetention(items, {.keep_last = 1, .min_age_s = 2 * kDay}, 10 * kDay + 120);
  EXPECT_FALSE(d[0].keep);
  EXPECT_TRUE(d[1].keep);
  EXPECT_EQ(d[1].reasons[0], "younger than min_age");
  EXPECT_TRUE(d[2].keep);
}

TEST(RepoList, BackupsOfTheSameSecondComeInTheOrderTheyStarted) {
  OpenOptions o{.url = "memory://order", .create = true, .open_storage = []() -> Result<std::unique_ptr<storage::Storage>> {
                  return std::unique_ptr<storage::Storage>(new storage::MemoryStorage("order"));
                }};
  auto repo = Repository::Open(o);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  auto physical = [](const std::string& id, int64_t start_us) {
    Manifest m;
    m.id = id;
    m.type = "physical";
    m.start_time = m.stop_time = Iso8601(start_us / 1000000);
    m.physical = PhysicalInfo{};
    m.physical->start_us = start_us;
    return m;
  };
  // An incremental, then a differential in the same second: "-D" sorts before "-I".
  ASSERT_TRUE((*repo)->WriteManifest(physical("20261206T162432Z-I", 1796574272100000)).ok());
  ASSERT_TRUE((*repo)->WriteManifest(physical("20261206T162432Z-D", 1796574272900000)).ok());
  ASSERT_TRUE((*repo)->WriteManifest(physical("20261206T162431Z-F", 1796574271500000)).ok());
  auto all = (*repo)->ListBackups();
  ASSERT_TRUE(all.ok());
  std::vector<std::string> ids;
  for (const auto& m : *all) ids.push_back(m.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"20261206T162431Z-F", "20261206T162432Z-I", "20261206T162432Z-D"}));
  EXPECT_EQ((*repo)->LoadBackup("latest")->id, "20261206T162432Z-D");
}

}  // namespace pgk::repo
