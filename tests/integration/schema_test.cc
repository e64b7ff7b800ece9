// `pgkeeper schema` end to end: round trips, every difference kind on hand-made pairs of
// databases, every kind of source, and shadow databases that never outlive the command.
#include <gtest/gtest.h>

#include <fstream>

#include "demo/example_app.h"
#include "harness/harness.h"
#include "schema/ddl.h"
#include "schema/introspect.h"
#include "schema/json.h"

namespace pgk::test {

namespace {

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(PGKEEPER_SOURCE_DIR) + "/tests/fixtures/" + name);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

schema::Snapshot Snap(const std::string& db) {
  auto conn = Connect(db);
  auto s = schema::Introspect(conn);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : schema::Snapshot{};
}

// snapshot -> schema sql -> apply to an empty database -> snapshot: identical.
void ExpectRoundTrip(const std::string& db, const std::string& prefix) {
  auto before = Snap(db);
  std::string sql = schema::GenerateSql(before);
  std::string copy = CreateDatabase(prefix);
  Status applied = Connect(copy).Exec(sql);
  ASSERT_TRUE(applied.ok()) << applied.ToString() << "\n--- generated SQL ---\n" << sql;
  auto after = Snap(copy);
  // Objects of kinds the model does not cover are listed, not recreated.
  before.not_compared.clear();
  after.not_compared.clear();
  std::string a = schema::SerializeSnapshot(before), b = schema::SerializeSnapshot(after);
  if (a != b) {
    std::ofstream(TempPath(prefix + "_before.json")) << a;
    std::ofstream(TempPath(prefix + "_after.json")) << b;
    std::ofstream(TempPath(prefix + ".sql")) << sql;
  }
  if (a != b) {
    // Show only what differs: the snapshots are long.
    std::string report;
    auto lines = [](const std::string& t) {
      std::vector<std::string> out;
      size_t start = 0;
      while (start < t.size()) {
        size_t nl = t.find('\n', start);
        if (nl == std::string::npos) nl = t.size();
        out.push_back(t.substr(start, nl - start));
        start = nl + 1;
      }
      return out;
    };
    auto la = lines(a), lb = lines(b);
    size_t i = 0;
    while (i < la.size() && i < lb.size() && la[i] == lb[i]) ++i;
    for (size_t k = i >= 8 ? i - 8 : 0; k < std::min(la.size(), i + 12); ++k) report += "  before: " + la[k] + "\n";
    for (size_t k = i >= 8 ? i - 8 : 0; k < std::min(lb.size(), i + 12); ++k) report += "  after:  " + lb[k] + "\n";
    ADD_FAILURE() << "snapshots differ from line " << i + 1 << ":\n" << report;
  }
}

CliResult Diff(const std::string& a, const std::string& b, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"schema", "--db", UrlWithPassword("postgres"), "diff", a, b, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCli(args);
}

std::string ShadowCount() {
  return *Connect("postgres").QueryValue("SELECT count(*) FROM pg_database WHERE datname LIKE 'pgkeeper_shadow_%'");
}

// A pair of databases: `base` in both, then `left` only in A and `right` only in B.
std::pair<std::string, std::string> Pair(const std::string& prefix, const std::string& base, const std::string& left,
                                         const std::string& right) {
  std::string a = CreateDatabase(prefix + "_a"), b = CreateDatabase(prefix + "_b");
  EXPECT_TRUE(Connect(a).Exec(base + left).ok());
  EXPECT_TRUE(Connect(b).Exec(base + right).ok());
  return {a, b};
}

nlohmann::json FindDiff(const nlohmann::json& j, const std::string& what) {
  for (const auto& d : j["differences"])
    if (d["what"] == what) return d;
  return nullptr;
}

}  // namespace

TEST(SchemaRoundTrip, ExampleApplication) {
  std::string db = CreateExampleDatabase("schema_rt_example");
  ExpectRoundTrip(db, "schema_rt_example_copy");
}

TEST(SchemaRoundTrip, EveryObjectKind) {
  std::string db = CreateDatabase("schema_rt_every");
  Status s = Connect(db).Exec(ReadFixture("every_kind.sql"));
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectRoundTrip(db, "schema_rt_every_copy");
}

TEST(SchemaRoundTrip, ThroughTheCli) {
  std::string db = CreateExampleDatabase("schema_rt_cli");
  std::string sql_file = TempPath("schema_rt_cli.sql"), snap_file = TempPath("schema_rt_cli.json");
  auto r = RunCli({"schema", "sql", UrlWithPassword(db), "-o", sql_file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCli({"schema", "snapshot", UrlWithPassword(db), "-o", snap_file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The .sql file as a source is applied to a shadow database and compared.
  r = RunCli({"schema", "--db", UrlWithPassword(db), "diff", snap_file, sql_file, "--strict"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("identical"), std::string::npos) << r.out;
  EXPECT_EQ(ShadowCount(), "0");
}

TEST(SchemaDiffKinds, EachKindWithItsSeverity) {
  const std::string base = "CREATE TABLE p (id int PRIMARY KEY); ";
  struct Case {
    std::string name, left, right, what, severity;
  };
  std::vector<Case> cases = {
      {"missing_table", "CREATE TABLE t (x int);", "", "missing", "error"},
      {"extra_table", "", "CREATE TABLE t (x int);", "extra", "warning"},
      {"missing_column", "CREATE TABLE t (x int, y int);", "CREATE TABLE t (x int);", "missing", "error"},
      {"column_type", "CREATE TABLE t (x numeric(20,4));", "CREATE TABLE t (x numeric(10,2));", "type", "error"},
      {"nullability", "CREATE TABLE t (x int NOT NULL);", "CREATE TABLE t (x int);", "nullability", "error"},
      {"default", "CREATE TABLE t (x int DEFAULT 1);", "CREATE TABLE t (x int DEFAULT 2);", "default", "warning"},
      {"missing_constraint", "CREATE TABLE t (x int CHECK (x > 0));", "CREATE TABLE t (x int);", "missing", "error"},
      {"missing_index", "CREATE TABLE t (x int); CREATE INDEX t_x ON t (x);", "CREATE TABLE t (x int);", "missing", "error"},
      {"renamed_index", "CREATE TABLE t (x int); CREATE INDEX t_x ON t (x);", "CREATE TABLE t (x int); CREATE INDEX idx_t_x ON t (x);",
       "name", "warning"},
      {"fk_target", "CREATE TABLE q (id int PRIMARY KEY); CREATE TABLE t (x int CONSTRAINT t_x_fkey REFERENCES p);",
       "CREATE TABLE q (id int PRIMARY KEY); CREATE TABLE t (x int CONSTRAINT t_x_fkey REFERENCES q);", "foreign key target", "error"},
      {"comment", "CREATE TABLE t (x int); COMMENT ON TABLE t IS 'a';", "CREATE TABLE t (x int);", "comment", "info"},
      {"grant", "CREATE TABLE t (x int); GRANT SELECT ON t TO PUBLIC;", "CREATE TABLE t (x int);", "grant missing", "info"},
      {"view_definition", "CREATE VIEW v AS SELECT 1 AS a;", "CREATE VIEW v AS SELECT 2 AS a;", "definition", "error"},
      {"function_body", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
       "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2';", "body", "error"},
      {"enum_label", "CREATE TYPE mood AS ENUM ('a', 'b');", "CREATE TYPE mood AS ENUM ('a');", "missing", "error"},
      {"rls", "CREATE TABLE t (x int); ALTER TABLE t ENABLE ROW LEVEL SECURITY;", "CREATE TABLE t (x int);",
       "row level security", "error"},
  };
  for (const auto& c : cases) {
    auto [a, b] = Pair("sdk_" + c.name, base, c.left, c.right);
    auto r = Diff(UrlWithPassword(a), UrlWithPassword(b));
    auto j = r.Json();
    auto d = FindDiff(j, c.what);
    ASSERT_FALSE(d.is_null()) << c.name << ": " << r.out << r.err;
    EXPECT_EQ(d["severity"], c.severity) << c.name << ": " << d.dump();
    int expected_exit = c.severity == "error" ? 1 : 0;
    EXPECT_EQ(r.exit_code, expected_exit) << c.name;
    if (c.severity == "warning") {
      EXPECT_EQ(Diff(UrlWithPassword(a), UrlWithPassword(b), {"--strict"}).exit_code, 1) << c.name;
    }
  }
}

TEST(SchemaSources, SnapshotSqlFileAndMigrations) {
  std::string db = CreateExampleDatabase("schema_src");
  std::string url = UrlWithPassword(db);
  std::string migrations = TempPath("schema_src_migrations");
  auto conn = Connect(db);
  ASSERT_TRUE(demo::WriteExampleMigrations(migrations).ok());
  // Against the migrations directory (applied in a shadow database), on both shadows.
  for (const std::string shadow : {"server", "local"}) {
    auto r = RunCli({"schema", "--db", url, "--shadow", shadow, "diff", migrations, "-", "--strict"},
                    {}, TempPath(""));
    EXPECT_EQ(r.exit_code, 0) << shadow << ": " << r.out << r.err;
  }
  EXPECT_EQ(ShadowCount(), "0");
  // A broken .sql file: the error names the file, and the shadow is dropped anyway.
  std::string bad = TempPath("schema_src_bad.sql");
  std::ofstream(bad) << "CREATE TABLE ok (x int);\nCREATE TABLE broken (x nosuchtype);\n";
  auto r = RunCli({"schema", "--db", url, "diff", bad, "-"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("schema_src_bad.sql"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nosuchtype"), std::string::npos) << r.err;
  EXPECT_EQ(ShadowCount(), "0");
  // psql meta-commands are refused clearly.
  std::string meta = TempPath("schema_src_meta.sql");
  std::ofstream(meta) << "\\connect foo\nCREATE TABLE x (y int);\n";
  r = RunCli({"schema", "--db", url, "diff", meta, "-"});
  EXPECT_EQ(r.exit_code, 2);
  // A file that is not a snapshot.
  std::string junk = TempPath("schema_src_junk.json");
  std::ofstream(junk) << "{\"hello\": 1}";
  r = RunCli({"schema", "--db", url, "diff", junk, "-"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a pgkeeper schema snapshot"), std::string::npos) << r.err;
  r = RunCli({"schema", "--db", url, "diff", "/nonexistent/x.json", "-"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(SchemaCheck, MigrationsAtTheAppliedVersionAndDrift) {
  std::string db = CreateDatabase("schema_check");
  std::string url = UrlWithPassword(db);
  std::string migrations = TempPath("schema_check_migrations");
  ASSERT_TRUE(demo::WriteExampleMigrations(migrations).ok());
  ASSERT_EQ(RunCli({"migrate", "--db", url, "--dir", migrations, "up", "3"}).exit_code, 0);
  // Expected = migrations at version 3 (the applied one), not all of them.
  auto r = RunCli({"schema", "--db", url, "check", "--dir", migrations, "--strict"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("at version 3"), std::string::npos) << r.out;
  // Someone changes a column by hand: drift, exit 1, in `schema check` and in `check`.
  ASSERT_TRUE(Connect(db).Exec("ALTER TABLE positions ALTER COLUMN amount TYPE numeric(10,2); CREATE INDEX by_hand ON assets (label);").ok());
  r = RunCli({"schema", "--db", url, "check", "--dir", migrations, "--json"});
  EXPECT_EQ(r.exit_code, 1);
  auto j = r.Json();
  EXPECT_EQ(j["summary"]["errors"], 1);
  EXPECT_EQ(j["summary"]["warnings"], 1);
  std::string cwd = TempPath("schema_check_cwd");
  std::filesystem::create_directories(cwd);
  std::ofstream(cwd + "/pgkeeper.toml") << "[migrations]\ndir = \"" << migrations << "\"\n";
  auto c = RunCli({"check", "--db", url, "--json"}, {}, cwd);
  EXPECT_EQ(c.exit_code, 1) << c.out;
  EXPECT_EQ(c.Json()["sections"]["schema"]["errors"], 1);
  EXPECT_EQ(ShadowCount(), "0");
}

TEST(SchemaSnapshot, StableAndPrivate) {
  std::string db = CreateExampleDatabase("schema_snap");
  std::string f1 = TempPath("schema_snap1.json"), f2 = TempPath("schema_snap2.json");
  ASSERT_EQ(RunCli({"schema", "--db", UrlWithPassword(db), "snapshot", "-o", f1}).exit_code, 0);
  ASSERT_TRUE(Connect(db).Exec("ANALYZE; INSERT INTO institutions (id, name) VALUES ('x', 'y')").ok());
  ASSERT_EQ(RunCli({"schema", "--db", UrlWithPassword(db), "snapshot", "-o", f2}).exit_code, 0);
  std::ifstream a(f1), b(f2);
  std::string ta((std::istreambuf_iterator<char>(a)), {}), tb((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(ta, tb) << "data and statistics must not change a snapshot";
  EXPECT_EQ(std::filesystem::status(f1).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(ta.find("\"oid\""), std::string::npos);
}

}  // namespace pgk::test
