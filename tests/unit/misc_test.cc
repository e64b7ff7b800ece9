#include <gtest/gtest.h>

#include "cli/output.h"
#include "common/fs.h"
#include "common/markup.h"
#include "common/parallel.h"
#include "common/status.h"
#include "common/utc_time.h"
#include "pg/quote.h"
#include "workload/model.h"

#include <sys/stat.h>

#include <atomic>
#include <mutex>
#include <set>

namespace pgk {

TEST(Status, ExitCodesFollowTheTable) {
  EXPECT_EQ(Status::Ok().exit_code(), 0);
  EXPECT_EQ(Status::Problem("x").exit_code(), 1);
  EXPECT_EQ(Status::InvalidArgument("x").exit_code(), 2);
  EXPECT_EQ(Status::Config("x").exit_code(), 2);
  EXPECT_EQ(Status::Refused("x").exit_code(), 2);
  EXPECT_EQ(Status::Connection("x").exit_code(), 3);
  EXPECT_EQ(Status::IO("x").exit_code(), 3);
  EXPECT_EQ(Status::ChildFailed("x").exit_code(), 3);
}

TEST(Status, ContextAndHint) {
  Status s = Status::IO("disk full", "free space").WithContext("writing backup");
  EXPECT_EQ(s.message(), "writing backup: disk full");
  EXPECT_EQ(s.ToString(), "writing backup: disk full\nhint: free space");
}

TEST(Quote, Identifiers) {
  EXPECT_EQ(pg::QuoteIdent("simple"), "\"simple\"");
  EXPECT_EQ(pg::QuoteIdent("We\"ird Name"), "\"We\"\"ird Name\"");
  EXPECT_EQ(pg::QuoteIdent("zählung"), "\"zählung\"");
  EXPECT_EQ(pg::QuoteQualified("my schema", "t"), "\"my schema\".\"t\"");
}

TEST(Quote, Literals) {
  EXPECT_EQ(pg::QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(pg::QuoteLiteral("a\\b"), "E'a\\\\b'");
}

TEST(Format, Bytes) {
  EXPECT_EQ(cli::FormatBytes(0), "0 B");
  EXPECT_EQ(cli::FormatBytes(1536), "1.5 kB");
  EXPECT_EQ(cli::FormatBytes(16 * 1024 * 1024), "16 MB");
}

TEST(Format, CountAndDuration) {
  EXPECT_EQ(cli::FormatCount(1234567), "1,234,567");
  EXPECT_EQ(cli::FormatCount(12), "12");
  EXPECT_EQ(cli::FormatDuration(0.012), "12 ms");
  EXPECT_EQ(cli::FormatDuration(75), "1 min 15 s");
}

TEST(Format, TableAlignsNonAscii) {
  std::string t = cli::RenderTable({{"name"}, {"n", true}}, {{"zählung", "1"}, {"ab", "100"}}, "");
  EXPECT_EQ(t, "name       n\nzählung    1\nab       100\n");
}

TEST(Fs, WritesPrivateFilesAtomically) {
  auto dir = fs::TempDir::Create("pgk-unit-");
  ASSERT_TRUE(dir.ok());
  auto path = dir->path() / "sub" / "f";
  ASSERT_TRUE(fs::MakeDirs(dir->path() / "sub").ok());
  ASSERT_TRUE(fs::WriteFile(path, "hello").ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir->path() / "sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(*fs::ReadFile(path), "hello");
  EXPECT_EQ(fs::ReadFile(dir->path() / "missing").status().code(), Code::kNotFound);
}

TEST(WorkloadModel, StateMachine) {
  EXPECT_FALSE(workload::IsTerminal("pending"));
  EXPECT_TRUE(workload::IsTerminal("released"));
  EXPECT_TRUE(workload::IsTerminal("refunded"));
  EXPECT_TRUE(workload::IsTerminal("cancelled"));
  for (const char* s : {"pending", "funded", "held", "disputed"}) {
    for (const auto& next : workload::NextStates(s)) EXPECT_NE(next, s);
  }
  std::mt19937_64 rng(1);
  auto a = workload::NewId("pos", rng);
  auto b = workload::NewId("pos", rng);
  EXPECT_EQ(a.rfind("pos_", 0), 0u);
  EXPECT_EQ(a.size(), 24u);
  EXPECT_NE(a, b);
}

TEST(Parallel, EveryItemOnceOnAtMostJobsWorkers) {
  std::mutex mu;
  std::multiset<size_t> seen;
  std::set<int> workers;
  ParallelFor(100, 3, [&](int w, size_t i) {
    std::lock_guard<std::mutex> lock(mu);
    seen.insert(i);
    workers.insert(w);
  });
  ASSERT_EQ(seen.size(), 100u);
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(seen.count(i), 1u);
  for (int w : workers) EXPECT_TRUE(w >= 0 && w < 3);
}

TEST(Parallel, FirstErrorStopsFurtherItemsAndIsReturned) {
  std::atomic<int> ran{0};
  Status s = ParallelForEach(1000, 1, [&](int, size_t i) {
    ++ran;
    return i == 5 ? Status::IO("item 5 failed") : Status::Ok();
  });
  EXPECT_EQ(s.message(), "item 5 failed");
  EXPECT_EQ(ran.load(), 6);  // one worker: nothing after the failing item started
  ran = 0;
  s = ParallelForEach(
      1000, 2, [&](int, size_t) { return ++ran >= 10 ? Status::IO("late") : Status::Ok(); },
      [&] { return ran.load() >= 3; });
  EXPECT_TRUE(s.ok()) << s.ToString();  // stopped by `stop`, not by an error
  EXPECT_LE(ran.load(), 4);             // at most one item per other worker after the stop
}

TEST(Markup, EscapesTheFiveCharacters) {
  EXPECT_EQ(EscapeMarkup("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;");
  EXPECT_EQ(EscapeMarkup("plain ünïcode"), "plain ünïcode");
}

TEST(UtcTime, FormatsInUtcWhateverTheLocalZone) {
  EXPECT_EQ(FormatUtc(0, kIsoUtc), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatUtc(1796583845, kIsoUtc), "2026-12-06T19:04:05Z");
  EXPECT_EQ(FormatUtc(1796583845, kCompactUtc), "20261206T190405Z");
  EXPECT_EQ(FormatUtc(1796583845, "_old_%Y%m%dT%H%M%S"), "_old_20261206T190405");
}

}  // namespace pgk
