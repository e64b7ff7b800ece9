// The correctness bar of backups: back up a database that uses every object kind and
// awkward data (tests/fixtures/every_kind.sql + awkward_data.sql), restore it into a new
// database, and `pg_dump` of the source and of the restored database must be identical,
// byte for byte, owners and grants included. Only the lines that name the database may
// differ, and pg_dump's per-run \restrict keys. The matrix: {posix, s3} x {plain,
// encrypted}.
//
// Every session of this binary's cluster runs with output settings unlike the defaults
// (DateStyle, IntervalStyle, extra_float_digits, bytea_output, TimeZone): a backup or
// restore that depends on a session default instead of setting what it needs loses or
// changes data here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "common/process.h"
#include "harness/harness.h"
#include "harness/s3.h"

namespace pgk::test {

namespace {

using Env = std::map<std::string, std::string>;

const std::string kKey(64, 'e');

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Fixture(const std::string& name) {
  return ReadText(std::string(PGKEEPER_SOURCE_DIR) + "/tests/fixtures/" + name);
}

std::string NewName(const std::string& prefix) {
  static int counter = 0;
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

// Hostile output settings for every session of the cluster, and the fixture database.
const std::string& SourceDatabase() {
  static std::once_flag once;
  static std::string db;
  std::call_once(once, [] {
    Status s =
        Connect("postgres")
            .Exec(
                "ALTER ROLE postgres SET DateStyle = 'SQL, DMY'; ALTER ROLE postgres SET IntervalStyle = "
                "'sql_standard'; "
                "ALTER ROLE postgres SET extra_float_digits = -15; ALTER ROLE postgres SET bytea_output = 'escape'; "
                "ALTER ROLE postgres SET TimeZone = 'Pacific/Chatham'");
    ASSERT_TRUE(s.ok()) << s.ToString();
    db = CreateDatabase("rt_src");
    s = Connect(db).Exec(Fixture("every_kind.sql"));
    ASSERT_TRUE(s.ok()) << "every_kind.sql: " << s.ToString();
    s = Connect(db).Exec(Fixture("awkward_data.sql"));
    ASSERT_TRUE(s.ok()) << "awkward_data.sql: " << s.ToString();
  });
  return db;
}

// pg_dump's plain output of `db`, without the lines that name the database and without
// the random key of \restrict/\unrestrict, which differs on every run. `named` receives
// the lines removed for naming the database.
std::string Dump(const std::string& db, std::vector<std::string>* named) {
  std::string err = TempPath("pg_dump.err");
  auto r = RunProcess({.argv = {Cluster().binaries().Path("pg_dump"), "-h", "127.0.0.1", "-p",
                                std::to_string(Cluster().port()), "-U", "postgres", "-d", db},
                       .env = {{"PGPASSWORD", Password()}},
                       .stderr_file = err,
                       .capture = true});
  EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? ReadText(err) : r.status().ToString());
  if (!r.ok()) return "";
  std::string out;
  std::istringstream in(r->output);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("\\restrict ") || line.starts_with("\\unrestrict ")) continue;
    if (line.find(db) != std::string::npos) {
      named->push_back(line);
      continue;
    }
    out += line + "\n";
  }
  return out;
}

// A unified diff for the failure message (the dumps are long).
std::string Diff(const std::string& a, const std::string& b) {
  std::string fa = TempPath("dump.source.sql"), fb = TempPath("dump.restored.sql");
  std::ofstream(fa, std::ios::binary) << a;
  std::ofstream(fb, std::ios::binary) << b;
  auto r = RunProcess({.argv = {FindOnPath("diff"), "-u", fa, fb}, .capture = true});
  std::string d = r.ok() ? r->output : r.status().ToString();
  return d.size() > 20000 ? d.substr(0, 20000) + "\n[... diff truncated]" : d;
}

struct Cell {
  std::string storage;  // "posix" | "s3"
  bool encrypted;
};

class RoundTrip : public ::testing::TestWithParam<Cell> {};

}  // namespace

TEST_P(RoundTrip, PgDumpOfRestoredDatabaseIsIdentical) {
  const Cell& cell = GetParam();
  const std::string& src = SourceDatabase();
  ASSERT_FALSE(src.empty());
  Env env;
  std::string repo;
  if (cell.storage == "s3") {
    std::string bucket = S3().NewBucket("rt");
    ASSERT_FALSE(bucket.empty());
    repo = "s3://" + bucket + "/rt";
    env = S3().Env();
  } else {
    repo = TempPath(NewName("rt_repo"));
  }
  if (cell.encrypted) env["PGKEEPER_ENCRYPTION_KEY"] = kKey;

  // Unlogged tables' data too: pg_dump has it, and the comparison is with pg_dump.
  auto b = RunCli(
      {"backup", "--db", UrlWithPassword(src), "--repo", repo, "--include-unlogged", "--jobs", "3", "--json"}, env);
  ASSERT_EQ(b.exit_code, 0) << b.All();
  EXPECT_EQ(b.Json()["encrypted"], cell.encrypted);
  std::string target = NewName("rt_restored");
  auto r = RunCli(
      {"restore", "--db", UrlWithPassword("postgres"), "--repo", repo, "--into", target, "--jobs", "3", "--json"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.Json()["counts_match"], true) << r.out;

  std::vector<std::string> src_named, target_named;
  std::string expected = Dump(src, &src_named);
  std::string actual = Dump(target, &target_named);
  ASSERT_GT(expected.size(), 10000u);
  EXPECT_TRUE(expected == actual) << Diff(expected, actual);
  // The database's name appears nowhere in a dump without --create: nothing was hidden.
  EXPECT_TRUE(src_named.empty()) << src_named.front();
  EXPECT_EQ(src_named.size(), target_named.size());
  // The large objects' contents, which pg_dump writes in its data section, and the data
  // pg_dump does not show in the same form.
  EXPECT_EQ(LargeObjectFingerprint(target), LargeObjectFingerprint(src));
  EXPECT_EQ(TableFingerprints(target), TableFingerprints(src));
}

INSTANTIATE_TEST_SUITE_P(Matrix, RoundTrip,
                         ::testing::Values(Cell{"posix", false}, Cell{"posix", true}, Cell{"s3", false},
                                           Cell{"s3", true}),
                         [](const ::testing::TestParamInfo<Cell>& cell) {
                           return cell.param.storage + (cell.param.encrypted ? "_encrypted" : "_plain");
                         });

// Tables whose physical column order the restored schema cannot reproduce: a partition
// created on its own and attached, and a child whose parent got a column after the child
// existed. pg_dump recreates both with the parent's order, so the data must be matched to
// columns by name, as pg_dump's own COPY column lists do. Compared by name-keyed rows
// (pg_dump's output differs here by construction: its COPY lists follow physical order).
TEST(RoundTripColumns, DataFollowsColumnNamesNotPositions) {
  std::string src = CreateDatabase("rt_cols");
  Status s = Connect(src).Exec(R"sql(
    CREATE TABLE measurements (id int, at date NOT NULL, v text) PARTITION BY RANGE (at);
    CREATE TABLE measurements_2024 (v text, at date NOT NULL, id int);
    ALTER TABLE measurements ATTACH PARTITION measurements_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    INSERT INTO measurements VALUES (1, '2024-05-01', 'one'), (2, '2024-06-01', NULL);
    CREATE TABLE parent (id int, label text);
    CREATE TABLE child (price numeric) INHERITS (parent);
    ALTER TABLE parent ADD COLUMN added_later boolean;
    INSERT INTO child (id, label, price, added_later) VALUES (1, 'a', 1.5, true), (2, NULL, NULL, false);
  )sql");
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::string repo = TempPath(NewName("rt_cols_repo"));
  auto b = RunCli({"backup", "--db", UrlWithPassword(src), "--repo", repo, "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.All();
  std::string target = NewName("rt_cols_restored");
  auto r = RunCli({"restore", "--db", UrlWithPassword("postgres"), "--repo", repo, "--into", target});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto rows = [](const std::string& db, const std::string& table) {
    return QueryValue(db, "SELECT string_agg(to_jsonb(t)::text, ',' ORDER BY to_jsonb(t)::text) FROM " + table + " t");
  };
  for (const char* table : {"measurements_2024", "ONLY parent", "child"}) {
    EXPECT_EQ(rows(target, table), rows(src, table)) << table;
  }
}

}  // namespace pgk::test
