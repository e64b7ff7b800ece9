#include <gtest/gtest.h>

#include "cli/output.h"
#include "common/fs.h"
#include "common/status.h"
#include "pg/quote.h"
#include "workload/model.h"

#include <sys/stat.h>

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

}  // namespace pgk
