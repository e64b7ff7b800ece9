// Run records in a repository's storage: atomic writes, newest-first reading, bounded
// listings, and a damaged record that does not hide the one before it.
#include <gtest/gtest.h>

#include "serve/run_record.h"
#include "storage/storage.h"

namespace pgk::serve {
namespace {

RunRecord Record(const std::string& job, double start, bool ok, int64_t failures) {
  RunRecord r;
  r.job = job;
  r.command = "backup";
  r.scheduled = static_cast<int64_t>(start);
  r.start = start;
  r.end = start + 2.5;
  r.ok = ok;
  r.exit_code = ok ? 0 : 3;
  r.error = ok ? "" : "boom";
  r.failures_total = failures;
  if (ok) r.last_success = r.end;
  return r;
}

TEST(RunRecords, RoundTripNewestAndPruning) {
  auto storage = storage::OpenStorage("memory://serve-run-records");
  ASSERT_TRUE(storage.ok()) << storage.status().ToString();
  storage::Storage& s = **storage;
  const double t0 = 1765000000;
  for (int i = 0; i < 5; ++i) {
    auto path = StoreRunRecord(s, Record("daily", t0 + 86400.0 * i, i % 2 == 0, i), 3);
    ASSERT_TRUE(path.ok()) << path.status().ToString();
  }
  // Two runs in the same second: the second sorts after the first.
  auto same = StoreRunRecord(s, Record("daily", t0 + 86400.0 * 4 + 0.5, false, 9), 3);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, "serve/runs/daily/20251210T054640Z_2.json");
  auto files = s.List("serve/runs/daily/");
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 3u) << "pruned to keep_runs";
  EXPECT_EQ((*files)[0].path, "serve/runs/daily/20251209T054640Z.json");

  ASSERT_TRUE(StoreRunRecord(s, Record("weekly", t0, true, 0), 3).ok());
  std::vector<std::string> problems;
  auto latest = LatestRunRecords(s, {"daily", "weekly", "never"}, &problems);
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(problems.empty());
  ASSERT_EQ(latest->size(), 2u);
  const RunRecord& d = latest->at("daily");
  EXPECT_EQ(d.failures_total, 9);
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "boom");
  EXPECT_DOUBLE_EQ(d.start, t0 + 86400.0 * 4 + 0.5);
  EXPECT_EQ(latest->at("weekly").last_success, t0 + 2.5);

  // A damaged newest record: reported, and the one before it is used.
  ASSERT_TRUE(s.Put("serve/runs/weekly/29990101T000000Z.json", "{not json").ok());
  problems.clear();
  latest = LatestRunRecords(s, {"weekly"}, &problems);
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("29990101T000000Z.json"), std::string::npos);
  EXPECT_TRUE(latest->at("weekly").ok);
}

TEST(RunRecords, JsonHasTheDocumentedKeys) {
  nlohmann::json j = Record("daily", 1765000000, true, 0).ToJson();
  for (const char* key :
       {"format", "job", "command", "args", "scheduled", "missed", "start", "end", "duration_seconds", "exit_code",
        "ok", "interrupted", "error", "backup_id", "host", "failures_total", "consecutive_failures", "last_success"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["start"], "2025-12-06T05:46:40Z");
  EXPECT_EQ(j["duration_seconds"], 2.5);
  nlohmann::json future = j;
  future["format"] = 2;
  EXPECT_FALSE(RunRecord::FromJson(future).ok());
}

}  // namespace
}  // namespace pgk::serve
