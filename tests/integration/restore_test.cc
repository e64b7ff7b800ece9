// Backup -> restore round trips through the CLI, and the ways a restore must refuse:
// damaged files, wrong keys, existing databases. Each test uses its own repository.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "harness/harness.h"
#include "restore/script.h"
#include "schema/introspect.h"
#include "schema/json.h"
#include "workload/verify.h"

namespace pgk::test {

namespace {

const std::string kKey(64, 'a');
const std::string kOtherKey(64, 'b');

std::string NewName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

std::string Server() { return UrlWithPassword("postgres"); }

bool DatabaseExists(const std::string& name) {
  return QueryValue("postgres", "SELECT count(*) FROM pg_database WHERE datname = '" + name + "'") == "1";
}

// Takes a backup of `db` into `repo` and returns its id.
std::string Backup(const std::string& db, const std::string& repo, const std::map<std::string, std::string>& env = {},
                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"backup", "--db", UrlWithPassword(db), "--repo", repo, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = RunCli(args, env);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  if (r.exit_code != 0) return "";
  return r.Json()["id"].get<std::string>();
}

CliResult Restore(const std::string& repo, const std::string& into, const std::vector<std::string>& extra = {},
                  const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> args = {"restore", "--db", Server(), "--repo", repo, "--into", into};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCli(args, env);
}

std::string Snapshot(const std::string& db) {
  auto conn = Connect(db);
  auto s = schema::Introspect(conn);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? schema::SerializeSnapshot(*s) : "";
}

// The largest stored table-data file of the only backup in `repo`.
std::string LargestDataFile(const std::string& repo) {
  std::string best;
  uintmax_t best_size = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(repo + "/backups")) {
    if (!e.is_regular_file() || e.path().parent_path().filename() != "data") continue;
    if (e.path().filename().string().find(".copy") == std::string::npos) continue;
    if (e.file_size() > best_size) {
      best_size = e.file_size();
      best = e.path().string();
    }
  }
  return best;
}

}  // namespace

TEST(Restore, ExampleRoundTripListShowVerifyTable) {
  std::string src = CreateExampleDatabase("rs_src", 400);
  std::string repo = TempPath("repo_plain");
  std::string id = Backup(src, repo);
  ASSERT_FALSE(id.empty());

  std::string target = NewName("rs_target");
  auto r = Restore(repo, target, {"--jobs", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("restored " + id + " into " + target), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("all counts match"), std::string::npos) << r.out;
  // Progress goes to stderr, one line per phase.
  EXPECT_NE(r.err.find("pre-data"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("post-data"), std::string::npos) << r.err;

  EXPECT_EQ(Snapshot(src), Snapshot(target));
  auto conn = Connect(target);
  auto inv = workload::VerifyInvariant(conn);
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_TRUE(inv->holds());
  EXPECT_EQ(inv->positions, 400);
  EXPECT_EQ(QueryValue(src, "SELECT count(*) FROM position_events"),
            QueryValue(target, "SELECT count(*) FROM position_events"));

  // list / show / verify.
  auto list = RunCli({"backups", "list", "--repo", repo, "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.All();
  auto lj = list.Json();
  ASSERT_EQ(lj["backups"].size(), 1u);
  EXPECT_EQ(lj["backups"][0]["id"], id);
  EXPECT_GT(lj["backups"][0]["files"].get<int>(), 3);
  EXPECT_TRUE(lj["unfinished"].empty());
  auto human = RunCli({"backups", "list", "--repo", repo});
  EXPECT_EQ(human.exit_code, 0) << human.All();
  EXPECT_NE(human.out.find(id), std::string::npos);
  auto show = RunCli({"backups", "show", "latest", "--repo", repo, "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.All();
  EXPECT_EQ(show.Json()["id"], id);
  EXPECT_EQ(show.Json()["row_counts"]["public.positions"], 400);
  auto show_human = RunCli({"backups", "show", id, "--repo", repo});
  EXPECT_EQ(show_human.exit_code, 0) << show_human.All();
  EXPECT_NE(show_human.out.find("public.positions"), std::string::npos);
  auto verify = RunCli({"verify", "--repo", repo, "--json"});
  ASSERT_EQ(verify.exit_code, 0) << verify.All();
  EXPECT_EQ(verify.Json()["failed"], 0);
  EXPECT_EQ(verify.Json()["ok"], true);

  // Restoring into an existing database is refused, and the database is left alone.
  std::string before = QueryValue(src, "SELECT count(*) FROM positions");
  r = Restore(repo, src);
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(QueryValue(src, "SELECT count(*) FROM positions"), before);
  EXPECT_FALSE(DatabaseExists(src + "_restored"));

  // Table-level recovery: the data lands beside the live table.
  r = Restore(repo, src, {"--table", "public.positions", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.Json()["restored_table"], "public.positions_restored");
  EXPECT_EQ(QueryValue(src, "SELECT count(*) FROM positions_restored"), before);
  EXPECT_EQ(QueryValue(src, "SELECT count(*) FROM (SELECT * FROM positions EXCEPT SELECT * FROM positions_restored) d"),
            "0");
  // A second recovery would overwrite it: refused.
  r = Restore(repo, src, {"--table", "positions"});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
}

TEST(Restore, EncryptedAndWrongKey) {
  std::string src = CreateExampleDatabase("rs_enc", 100);
  std::string repo = TempPath("repo_enc");
  std::map<std::string, std::string> env = {{"PGKEEPER_ENCRYPTION_KEY", kKey}};
  std::string id = Backup(src, repo, env);
  ASSERT_FALSE(id.empty());

  std::string wrong = NewName("rs_enc_wrong");
  auto r = Restore(repo, wrong, {}, {{"PGKEEPER_ENCRYPTION_KEY", kOtherKey}});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("wrong encryption key"), std::string::npos) << r.err;
  EXPECT_FALSE(DatabaseExists(wrong));
  r = Restore(repo, wrong);
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_FALSE(DatabaseExists(wrong));

  std::string target = NewName("rs_enc_target");
  r = Restore(repo, target, {"--json"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto j = r.Json();
  EXPECT_EQ(j["counts_match"], true);
  EXPECT_EQ(j["backup"], id);
  EXPECT_GT(j["files_verified"].get<int>(), 3);
  EXPECT_EQ(Snapshot(src), Snapshot(target));
  auto conn = Connect(target);
  auto inv = workload::VerifyInvariant(conn);
  ASSERT_TRUE(inv.ok());
  EXPECT_TRUE(inv->holds());

  auto verify = RunCli({"verify", "--all", "--repo", repo}, {{"PGKEEPER_ENCRYPTION_KEY", kOtherKey}});
  EXPECT_EQ(verify.exit_code, 2) << verify.All();
}

TEST(Restore, FlippedByteIsFoundBeforeAnythingIsCreated) {
  std::string src = CreateExampleDatabase("rs_flip", 300);
  std::string repo = TempPath("repo_flip");
  std::string id = Backup(src, repo, {}, {"--compression", "none"});
  ASSERT_FALSE(id.empty());
  std::string file = LargestDataFile(repo);
  ASSERT_FALSE(file.empty());
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(100);
    char c = 0;
    f.read(&c, 1);
    c ^= 0x01;
    f.seekp(100);
    f.write(&c, 1);
  }
  std::string name = std::filesystem::path(file).filename().string();
  auto verify = RunCli({"verify", id, "--repo", repo});
  EXPECT_EQ(verify.exit_code, 1) << verify.All();
  EXPECT_NE(verify.out.find(name), std::string::npos) << verify.All();
  EXPECT_NE(verify.All().find("1 of "), std::string::npos) << verify.All();
  auto vj = RunCli({"verify", id, "--repo", repo, "--json"});
  EXPECT_EQ(vj.exit_code, 1);
  EXPECT_EQ(vj.Json()["failed"], 1);

  std::string target = NewName("rs_flip_target");
  auto r = Restore(repo, target);
  EXPECT_NE(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find("checksum mismatch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(name), std::string::npos) << r.err;
  EXPECT_FALSE(DatabaseExists(target));

  // Without the check first, the damage is found while loading and the database dropped.
  r = Restore(repo, target, {"--no-verify-first"});
  EXPECT_NE(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find("checksum mismatch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dropped"), std::string::npos) << r.err;
  EXPECT_FALSE(DatabaseExists(target));
}

TEST(Restore, TruncatedFileIsRefused) {
  std::string src = CreateExampleDatabase("rs_trunc", 300);
  std::string repo = TempPath("repo_trunc");
  std::string id = Backup(src, repo, {{"PGKEEPER_ENCRYPTION_KEY", kKey}});
  ASSERT_FALSE(id.empty());
  std::string file = LargestDataFile(repo);
  ASSERT_FALSE(file.empty());
  std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
  std::string name = std::filesystem::path(file).filename().string();
  auto verify = RunCli({"verify", "--repo", repo}, {{"PGKEEPER_ENCRYPTION_KEY", kKey}});
  EXPECT_EQ(verify.exit_code, 1) << verify.All();
  EXPECT_NE(verify.out.find(name), std::string::npos) << verify.All();
  std::string target = NewName("rs_trunc_target");
  auto r = Restore(repo, target, {}, {{"PGKEEPER_ENCRYPTION_KEY", kKey}});
  EXPECT_NE(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find(name), std::string::npos) << r.err;
  EXPECT_FALSE(DatabaseExists(target));
}

TEST(Restore, AwkwardDataRoundTrip) {
  std::string src = CreateDatabase("rs_awk");
  auto conn = Connect(src);
  Status s = conn.Exec(R"sql(
    CREATE SCHEMA "Odd Schema";
    CREATE TABLE "Odd Schema"."Tä ble ""x""" (
      id serial PRIMARY KEY, "Quoted ""Col""" text, n numeric, f float8, r real,
      ts timestamp, tstz timestamptz, d date, b bytea, j jsonb, arr text[]);
    INSERT INTO "Odd Schema"."Tä ble ""x""" ("Quoted ""Col""", n, f, r, ts, tstz, d, b, j, arr) VALUES
      (E'tab\there, line\nbreak, back\\slash, \\N', 'NaN', 'NaN', 'NaN', 'infinity', '-infinity', 'infinity',
       (SELECT decode(string_agg(lpad(to_hex(i), 2, '0'), '' ORDER BY i), 'hex') FROM generate_series(0, 255) i),
       '{"é": "\u00e9 ☃ 🐘", "n": null}', ARRAY['a,b', 'NULL', NULL, '"q"']),
      ('', 'Infinity', 'Infinity', '-Infinity', '-infinity', 'infinity', '-infinity', '\x', '[]', '{}'),
      (NULL, '-Infinity', '-Infinity', 1.5e-45, '2000-01-01 00:00:00.000001', now(), '4713-01-01 BC',
       NULL, NULL, NULL),
      ('ünïcödé ✓', 123456789012345678901234567890.123456789, 0.1 + 0.2, 3.4e38, NULL, NULL, NULL, NULL, 'true', NULL);
    CREATE TABLE measurements (id bigint, at date NOT NULL, v float8) PARTITION BY RANGE (at);
    CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    INSERT INTO measurements SELECT i, date '2024-06-01' + (i % 400), i / 7.0 FROM generate_series(1, 5000) i;
    CREATE TABLE docs (id int PRIMARY KEY, body oid);
    SELECT lo_from_bytea(424242, (SELECT decode(string_agg(lpad(to_hex(i), 2, '0'), '' ORDER BY i), 'hex')
                                  FROM generate_series(0, 255) i));
    SELECT lo_from_bytea(424243, convert_to(repeat('large object ', 250000), 'UTF8'));
    INSERT INTO docs VALUES (1, 424242), (2, 424243);
  )sql");
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::string repo = TempPath("repo_awk");
  std::string id = Backup(src, repo);
  ASSERT_FALSE(id.empty());
  std::string target = NewName("rs_awk_target");
  auto r = Restore(repo, target);
  ASSERT_EQ(r.exit_code, 0) << r.All();

  auto expected = TableFingerprints(src);
  ASSERT_EQ(expected.size(), 5u);
  EXPECT_EQ(TableFingerprints(target), expected);
  std::string lo = LargeObjectFingerprint(target);
  EXPECT_EQ(lo, LargeObjectFingerprint(src));
  EXPECT_NE(lo.find("424243"), std::string::npos);
  // Sequences continue where the source left off.
  EXPECT_EQ(QueryValue(src, R"(SELECT nextval('"Odd Schema"."Tä ble ""x""_id_seq"'))"),
            QueryValue(target, R"(SELECT nextval('"Odd Schema"."Tä ble ""x""_id_seq"'))"));
  EXPECT_EQ(Snapshot(src), Snapshot(target));
}

TEST(Restore, CountMismatchKeepsDatabaseAndExitsOne) {
  std::string src = CreateExampleDatabase("rs_count", 50);
  std::string repo = TempPath("repo_count");
  std::string id = Backup(src, repo);
  ASSERT_FALSE(id.empty());
  // The manifest claims more rows than the data holds, as if rows had been lost.
  std::string path = repo + "/backups/" + id + "/manifest.json";
  std::ifstream in(path);
  auto m = nlohmann::json::parse(in);
  in.close();
  m["row_counts"]["public.positions"] = 51;
  std::ofstream(path) << m.dump(2);
  std::string target = NewName("rs_count_target");
  auto r = Restore(repo, target);
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.out.find("public.positions"), std::string::npos) << r.All();
  EXPECT_NE(r.err.find("kept"), std::string::npos) << r.err;
  EXPECT_TRUE(DatabaseExists(target));
  auto j = Restore(repo, NewName("rs_count_json"), {"--json"});
  EXPECT_EQ(j.exit_code, 1) << j.All();
  EXPECT_EQ(j.Json()["counts_match"], false);
  EXPECT_EQ(j.Json()["mismatches"][0]["expected"], 51);
  EXPECT_EQ(j.Json()["mismatches"][0]["actual"], 50);
}

// A table over twice backup.table_part_mb is read in block ranges on several connections
// and stored as several files; together they hold exactly its rows, and restore (whole
// database and --table) loads them all, frozen. Index builds run in parallel after the data.
TEST(Restore, LargeTableInPartsRoundTrip) {
  std::string db = CreateDatabase("rs_parts");
  auto conn = Connect(db);
  ASSERT_TRUE(conn.Exec("CREATE TABLE big (id int PRIMARY KEY, k int NOT NULL, pad text); "
                        "CREATE INDEX big_k ON big (k); CREATE TABLE child (id int PRIMARY KEY, "
                        "big_id int REFERENCES big); "
                        "INSERT INTO big SELECT g, g % 97, repeat(md5(g::text), 3) FROM generate_series(1, 60000) g; "
                        "INSERT INTO child SELECT g, g FROM generate_series(1, 100) g; "
                        "DELETE FROM big WHERE id % 10 = 0 AND id > 100")  // holes in the pages
                  .ok());
  std::string config = MakeFiles("parts_config", {{"pgkeeper.toml", "[backup]\ntable_part_mb = 1\n"}}) + "/pgkeeper.toml";
  std::string repo = TempPath("repo_parts");
  std::string id = Backup(db, repo, {}, {"--config", config, "--jobs", "3"});
  ASSERT_FALSE(id.empty());
  std::ifstream in(repo + "/backups/" + id + "/manifest.json");
  auto manifest = nlohmann::json::parse(in);
  int parts = 0;
  int64_t rows = 0;
  for (const auto& f : manifest["files"]) {
    if (f.value("table", "") != "public.big") continue;
    ++parts;
    rows += f["rows"].get<int64_t>();
    EXPECT_NE(f["name"].get<std::string>().find("data/0001."), std::string::npos) << f.dump();
  }
  EXPECT_GE(parts, 3) << manifest.dump(2);
  EXPECT_EQ(rows, 54010);
  EXPECT_EQ(manifest["row_counts"]["public.big"], 54010);

  std::string into = NewName("rs_parts_into");
  auto r = Restore(repo, into, {"--jobs", "3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.Json()["tables"], 2) << r.out;
  EXPECT_EQ(TableFingerprints(into), TableFingerprints(db));
  EXPECT_EQ(Snapshot(into), Snapshot(db));  // indexes, keys and the foreign key are all back
  // The parts were loaded frozen (TRUNCATE + COPY FREEZE in one transaction): every page
  // is all-frozen in the visibility map, so nothing rewrites the table to set hint bits.
  ASSERT_TRUE(Connect(into).Exec("CREATE EXTENSION pg_visibility").ok());
  EXPECT_EQ(QueryValue(into, "SELECT all_frozen = pg_relation_size('big') / 8192 AND all_frozen > 0 "
                             "FROM pg_visibility_map_summary('big')"),
            "t");

  ASSERT_TRUE(conn.Exec("DELETE FROM big WHERE id > 50000").ok());
  auto t = Restore(repo, db, {"--table", "big", "--json"});
  ASSERT_EQ(t.exit_code, 0) << t.All();
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM big_restored"), "54010");
}

TEST(RestoreScript, StripsRestrictLinesOnly) {
  std::string sql =
      "\\restrict abc123\nSET x = 1;\nCREATE FUNCTION f() RETURNS text AS $$\n\\restrict inside body\n$$ LANGUAGE "
      "sql;\n"
      "COMMENT ON TABLE t IS '\n\\connect in a string';\n\\unrestrict abc123\n";
  auto out = restore::StripPsqlMetaCommands(sql, "pre-data.sql");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out,
            "\nSET x = 1;\nCREATE FUNCTION f() RETURNS text AS $$\n\\restrict inside body\n$$ LANGUAGE sql;\n"
            "COMMENT ON TABLE t IS '\n\\connect in a string';\n\n");
  auto bad = restore::StripPsqlMetaCommands("SELECT 1;\n\\connect other\n", "pre-data.sql");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\\connect"), std::string::npos);
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
}

TEST(RestoreScript, SplitsQualifiedNames) {
  auto p = restore::SplitQualifiedName("public.positions");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->first, "public");
  EXPECT_EQ(p->second, "positions");
  p = restore::SplitQualifiedName(R"("Odd Schema"."T.""x""")");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->first, "Odd Schema");
  EXPECT_EQ(p->second, "T.\"x\"");
  EXPECT_FALSE(restore::SplitQualifiedName("positions").ok());
  EXPECT_FALSE(restore::SplitQualifiedName("a.b.c").ok());
}

}  // namespace pgk::test
