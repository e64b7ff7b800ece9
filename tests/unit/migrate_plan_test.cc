#include <gtest/gtest.h>

#include <fstream>

#include "common/fs.h"
#include "common/hash.h"
#include "migrate/create.h"
#include "migrate/files.h"
#include "migrate/history.h"
#include "migrate/plan.h"

namespace pgk::migrate {

namespace {

MigrationSet Files(std::initializer_list<uint64_t> versions, bool with_down = true) {
  MigrationSet set;
  set.dir = "m";
  for (uint64_t v : versions) {
    MigrationFile f;
    f.version = v;
    f.version_text = std::to_string(v);
    f.title = "t" + std::to_string(v);
    f.up_path = "m/" + f.version_text + "_" + f.title + ".up.sql";
    if (with_down) f.down_path = "m/" + f.version_text + "_" + f.title + ".down.sql";
    f.checksum = "sha256:" + std::to_string(v);
    set.files.push_back(f);
  }
  return set;
}

AppliedMigration Row(uint64_t v, bool success = true, std::string checksum = "") {
  return {.version = v, .name = "t" + std::to_string(v),
          .checksum = checksum.empty() ? "sha256:" + std::to_string(v) : checksum, .success = success};
}

std::vector<uint64_t> Versions(const std::vector<Step>& steps) {
  std::vector<uint64_t> out;
  for (const auto& s : steps) out.push_back(s.file->version);
  return out;
}

}  // namespace

TEST(MigratePlan, StatusClassifiesEveryState) {
  auto files = Files({1, 2, 3, 5});
  auto s = BuildStatus(files, {Row(1), Row(2, true, "sha256:other"), Row(4), Row(5, false)});
  ASSERT_EQ(s.entries.size(), 5u);
  EXPECT_EQ(s.Find(1)->state, State::kApplied);
  EXPECT_EQ(s.Find(2)->state, State::kChanged);
  EXPECT_EQ(s.Find(3)->state, State::kPending);
  EXPECT_EQ(s.Find(4)->state, State::kMissing);
  EXPECT_EQ(s.Find(5)->state, State::kFailed);
  EXPECT_EQ(s.current, 4u);
  EXPECT_EQ(s.failed, 5u);
}

TEST(MigratePlan, FlywayChecksumsAreComparedWithFlywaysAlgorithm) {
  auto files = Files({1});
  files.files[0].flyway_checksum = 12345;
  EXPECT_EQ(BuildStatus(files, {Row(1, true, "flyway-crc32:12345")}).Find(1)->state, State::kApplied);
  EXPECT_EQ(BuildStatus(files, {Row(1, true, "flyway-crc32:1")}).Find(1)->state, State::kChanged);
  // Adopted rows without a checksum are not compared.
  AppliedMigration r = Row(1);
  r.checksum = "";
  EXPECT_EQ(BuildStatus(files, {r}).Find(1)->state, State::kApplied);
}

TEST(MigratePlan, UpAppliesPendingInOrder) {
  auto files = Files({1, 2, 3, 4});
  auto s = BuildStatus(files, {Row(1)});
  EXPECT_EQ(Versions(*PlanUp(s, 0, {})), (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(Versions(*PlanUp(s, 2, {})), (std::vector<uint64_t>{2, 3}));
}

TEST(MigratePlan, UpRefusesChangedAndOutOfOrder) {
  auto files = Files({1, 2, 3});
  auto changed = BuildStatus(files, {Row(1, true, "sha256:x")});
  EXPECT_EQ(PlanUp(changed, 0, {}).status().code(), Code::kRefused);
  EXPECT_TRUE(PlanUp(changed, 0, {.allow_changed = true}).ok());
  auto gap = BuildStatus(files, {Row(1), Row(3)});
  auto r = PlanUp(gap, 0, {});
  EXPECT_EQ(r.status().code(), Code::kRefused);
  EXPECT_NE(r.status().message().find("older than the newest applied one (3)"), std::string::npos);
  EXPECT_EQ(Versions(*PlanUp(gap, 0, {.allow_out_of_order = true})), (std::vector<uint64_t>{2}));
}

TEST(MigratePlan, DownNewestFirstAndRefusesTooMany) {
  auto files = Files({1, 2, 3});
  auto s = BuildStatus(files, {Row(1), Row(2)});
  EXPECT_EQ(Versions(*PlanDown(s, 1, false)), (std::vector<uint64_t>{2}));
  EXPECT_EQ(Versions(*PlanDown(s, 0, true)), (std::vector<uint64_t>{2, 1}));
  auto too_many = PlanDown(s, 3, false);
  EXPECT_EQ(too_many.status().exit_code(), 2);
  EXPECT_NE(too_many.status().message().find("only 2 are applied"), std::string::npos);
}

TEST(MigratePlan, DownRefusesIrreversible) {
  auto files = Files({1, 2}, false);
  auto s = BuildStatus(files, {Row(1), Row(2)});
  auto r = PlanDown(s, 1, false);
  EXPECT_EQ(r.status().code(), Code::kRefused);
  EXPECT_NE(r.status().message().find("no down migration"), std::string::npos);
}

TEST(MigratePlan, GotoBothWays) {
  auto files = Files({1, 2, 3, 4});
  auto s = BuildStatus(files, {Row(1), Row(2)});
  EXPECT_EQ(Versions(*PlanGoto(s, 3, {})), (std::vector<uint64_t>{3}));
  EXPECT_EQ(Versions(*PlanGoto(s, 1, {})), (std::vector<uint64_t>{2}));
  EXPECT_EQ(Versions(*PlanGoto(s, 0, {})), (std::vector<uint64_t>{2, 1}));
  EXPECT_TRUE(PlanGoto(s, 2, {})->empty());
  EXPECT_EQ(PlanGoto(s, 9, {}).status().code(), Code::kNotFound);
}

TEST(MigratePlan, DirtyNamesBothForceCommands) {
  auto files = Files({1, 2, 3});
  auto s = BuildStatus(files, {Row(1), Row(2, false)});
  Status st = CheckNotDirty(s, TableName{});
  EXPECT_EQ(st.code(), Code::kRefused);
  EXPECT_NE(st.hint().find("pgkeeper migrate force 2"), std::string::npos);
  EXPECT_NE(st.hint().find("pgkeeper migrate force 1"), std::string::npos);
  EXPECT_TRUE(CheckNotDirty(BuildStatus(files, {Row(1)}), TableName{}).ok());
}

TEST(MigrateFiles, LayoutsAndDirectives) {
  auto tmp = fs::TempDir::Create("pgk-files-");
  ASSERT_TRUE(tmp.ok());
  auto dir = tmp->path().string();
  auto write = [&](const std::string& name, const std::string& text) { std::ofstream(dir + "/" + name) << text; };
  write("0001_a.up.sql", "CREATE TABLE a();");
  write("0001_a.down.sql", "DROP TABLE a;");
  write("0002_b.sql", "\n-- pgkeeper:no-transaction\nCREATE INDEX CONCURRENTLY x ON a ((1));");
  write("0003_c.sql", "-- migrate:up\nCREATE TABLE c();\n-- migrate:down\nDROP TABLE c;\n");
  write("V10__flyway_style.sql", "SELECT 1;");
  write("README.md", "not a migration");
  auto set = LoadMigrations(dir);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->files.size(), 4u);
  EXPECT_EQ(set->files[0].layout, Layout::kGolangMigrate);
  EXPECT_TRUE(set->files[0].has_down());
  EXPECT_EQ(set->files[1].layout, Layout::kUpOnly);
  EXPECT_TRUE(set->files[1].up_no_transaction);
  EXPECT_FALSE(set->files[1].has_down());
  EXPECT_EQ(set->files[2].layout, Layout::kDbmate);
  EXPECT_NE(set->files[2].up_sql.find("CREATE TABLE c"), std::string::npos);
  EXPECT_EQ(set->files[2].up_sql.find("DROP"), std::string::npos);
  EXPECT_NE(set->files[2].down_sql.find("DROP TABLE c"), std::string::npos);
  EXPECT_EQ(set->files[3].version, 10u);
  EXPECT_EQ(set->files[3].layout, Layout::kFlyway);
  EXPECT_EQ(set->PaddingWidth(), 4);
  EXPECT_EQ(set->files[0].checksum, "sha256:" + Sha256Hex("CREATE TABLE a();"));
}

TEST(MigrateFiles, DirectiveMustBeFirst) {
  EXPECT_TRUE(HasNoTransactionDirective("-- pgkeeper:no-transaction\nSELECT 1;"));
  EXPECT_TRUE(HasNoTransactionDirective("\n\n--pgkeeper:no-transaction  \nSELECT 1;"));
  EXPECT_FALSE(HasNoTransactionDirective("SELECT 1;\n-- pgkeeper:no-transaction\n"));
  EXPECT_FALSE(HasNoTransactionDirective("-- pgkeeper:no-transactions\n"));
}

TEST(MigrateFiles, AllProblemsAreReported) {
  auto tmp = fs::TempDir::Create("pgk-files-");
  auto dir = tmp->path().string();
  std::ofstream(dir + "/1_a.up.sql") << "x";
  std::ofstream(dir + "/01_b.up.sql") << "x";
  std::ofstream(dir + "/2_c.down.sql") << "x";
  std::ofstream(dir + "/weird.sql") << "x";
  auto set = LoadMigrations(dir);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), Code::kMalformed);
  const auto& m = set.status().message();
  EXPECT_NE(m.find("duplicate version"), std::string::npos) << m;
  EXPECT_NE(m.find("2_c.down.sql: down migration without its up"), std::string::npos) << m;
  EXPECT_NE(m.find("weird.sql: not a migration file name"), std::string::npos) << m;
}

TEST(MigrateCreate, SanitizeTitle) {
  EXPECT_EQ(SanitizeTitle("Add users table!"), "add_users_table");
  EXPECT_EQ(SanitizeTitle("  --x--y  "), "x_y");
  EXPECT_EQ(SanitizeTitle("!!!"), "");
}

TEST(MigrateHistory, ParseTableName) {
  EXPECT_EQ(ParseTableName("schema_migrations")->Display(), "public.schema_migrations");
  EXPECT_EQ(ParseTableName("Ops.History")->Display(), "ops.history");
  auto quoted = ParseTableName("\"My.Schema\".\"T\"\"x\"");
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ(quoted->schema, "My.Schema");
  EXPECT_EQ(quoted->table, "T\"x");
  EXPECT_EQ(quoted->Quoted(), "\"My.Schema\".\"T\"\"x\"");
  EXPECT_FALSE(ParseTableName("a.b.c").ok());
  EXPECT_FALSE(ParseTableName("").ok());
}

TEST(Hash, KnownVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // CRC-32 of "abc" is 0x352441C2; Flyway ignores line terminators and a BOM.
  EXPECT_EQ(FlywayChecksum("abc"), 0x352441C2);
  EXPECT_EQ(FlywayChecksum("a\r\nb\nc\n"), FlywayChecksum("abc"));
  EXPECT_EQ(FlywayChecksum("\xEF\xBB\xBF" "abc"), FlywayChecksum("abc"));
}

}  // namespace pgk::migrate
