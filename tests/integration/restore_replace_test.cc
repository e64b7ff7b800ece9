// `restore --replace`, `--reindex` and `verify --restore-test` through the CLI. The rule
// every replace test checks: until the swap, the original database is untouched
// (TableFingerprints) and no temporary database is left behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/process.h"
#include "harness/harness.h"
#include "restore/replace.h"

namespace pgk::test {

namespace {

std::string NewName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

std::string Server() { return UrlWithPassword("postgres"); }

std::string Backup(const std::string& db, const std::string& repo, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"backup", "--db", UrlWithPassword(db), "--repo", repo, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = RunCli(args);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  if (r.exit_code != 0) return "";
  return r.Json()["id"].get<std::string>();
}

std::vector<std::string> ReplaceArgs(const std::string& repo, const std::string& db,
                                     const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"restore", "--db", Server(), "--repo", repo, "--replace", db};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

CliResult Replace(const std::string& repo, const std::string& db, const std::vector<std::string>& extra) {
  return RunCli(ReplaceArgs(repo, db, extra));
}

// Databases whose name starts with `prefix`.
int DatabasesStartingWith(const std::string& prefix) {
  auto conn = Connect("postgres");
  auto r = conn.QueryValue("SELECT count(*) FROM pg_database WHERE left(datname, length($1)) = $1", {prefix});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::stoi(*r) : -1;
}

int Leftovers(const std::string& db) { return DatabasesStartingWith(restore::TemporaryPrefix(db)); }

size_t BackupCount(const std::string& repo) {
  auto r = RunCli({"backups", "list", "--repo", repo, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  return r.exit_code == 0 ? r.Json()["backups"].size() : 0;
}

void Exec(const std::string& db, const std::string& sql) {
  auto conn = Connect(db);
  Status s = conn.Exec(sql);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

// A table big enough that a restore takes a noticeable time (for the tests that act
// while it runs).
void AddBulk(const std::string& db) {
  Exec(db,
       "CREATE TABLE bulk AS SELECT g AS id, md5(g::text) AS a, md5((g * 7)::text) AS b "
       "FROM generate_series(1, 150000) g; CREATE INDEX ON bulk (a)");
}

void Change(const std::string& db) {
  Exec(db,
       "UPDATE positions SET holder_reference = holder_reference || '-changed' "
       "WHERE id IN (SELECT id FROM positions ORDER BY id LIMIT 10); "
       "CREATE TABLE added_later (x int); INSERT INTO added_later VALUES (1), (2)");
}

// Runs pgkeeper in the background; stdout and stderr go to a file.
struct Background {
  Process process;
  std::string log;
};

Background Start(const std::vector<std::string>& args) {
  ProcessOptions po;
  po.argv = {BinaryPath()};
  po.argv.insert(po.argv.end(), args.begin(), args.end());
  po.unset_env = {"DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGKEEPER_ENCRYPTION_KEY"};
  po.env["NO_COLOR"] = "1";
  std::string log = TempPath(NewName("background") + ".log");
  po.output_file = log;
  auto p = Process::Spawn(po);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return {std::move(p).value(), log};
}

std::string ReadLog(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Waits until the replace of `db` has created its temporary database.
bool WaitForTemporary(const std::string& db) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Leftovers(db) > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// The database's ACL, settings, comment and owner, comparable across a replace.
std::string DatabaseProps(const std::string& db) {
  std::string lit = "'" + db + "'";
  return QueryValue("postgres",
                    "SELECT (SELECT string_agg(format('%s/%s/%s/%s', a.grantee, a.grantor, a.privilege_type, "
                    "a.is_grantable), ',' ORDER BY a.grantee, a.grantor, a.privilege_type) FROM pg_database d, "
                    "aclexplode(d.datacl) a WHERE d.datname = " +
                        lit +
                        ") || ' | ' || (SELECT string_agg(array_to_string(s.setconfig, ';'), ',' ORDER BY s.setrole) "
                        "FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = " +
                        lit +
                        ") || ' | ' || (SELECT shobj_description(oid, 'pg_database') || '/' || "
                        "pg_get_userbyid(datdba) || '/' || datconnlimit FROM pg_database WHERE datname = " +
                        lit + ")");
}

// Indexes in public whose file is still the one CREATE INDEX made (REINDEX gives a new one).
std::string IndexesNeverRebuilt(const std::string& db) {
  return QueryValue(db,
                    "SELECT count(*) FROM pg_class WHERE relkind = 'i' AND relfilenode = oid "
                    "AND relnamespace = 'public'::regnamespace");
}

}  // namespace

TEST(RestoreReplace, ReplacesKeepsDatabasePropertiesAndTheSafetyBackupGoesBack) {
  std::string db = CreateExampleDatabase("rr_main", 200);
  std::string role = NewName("rr_app");
  std::string owner = NewName("rr_owner");
  Exec(db, "CREATE ROLE " + role + "; CREATE ROLE " + owner + "; ALTER DATABASE " + db + " OWNER TO " + owner +
               "; REVOKE ALL ON DATABASE " + db + " FROM PUBLIC; GRANT CONNECT ON DATABASE " + db + " TO " + role +
               "; ALTER DATABASE " + db + " SET work_mem = '7MB'; ALTER DATABASE " + db +
               " SET search_path = \"$user\", public, \"Odd Schema\"; ALTER ROLE " + role + " IN DATABASE " + db +
               " SET statement_timeout = '5s'; COMMENT ON DATABASE " + db + " IS 'the app''s database'; " +
               "ALTER DATABASE " + db + " CONNECTION LIMIT 50");
  std::string props = DatabaseProps(db);
  ASSERT_EQ(props.find("ERROR"), std::string::npos) << props;
  std::string repo = TempPath("repo_rr_main");
  std::string id = Backup(db, repo);
  ASSERT_FALSE(id.empty());
  auto backed_up = TableFingerprints(db);
  Change(db);
  auto changed = TableFingerprints(db);
  ASSERT_NE(changed, backed_up);

  // --db names the database being replaced itself: replace moves its own connection off it.
  auto r = RunCli(
      {"restore", id, "--db", UrlWithPassword(db), "--repo", repo, "--replace", db, "--yes", "--json", "--reindex"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto j = r.Json();
  EXPECT_EQ(j["replaced"], true);
  EXPECT_EQ(j["database"], db);
  EXPECT_EQ(j["counts_match"], true);
  EXPECT_TRUE(j["old_database"].is_null());
  EXPECT_GT(j["reindexed"].get<int>(), 0);
  EXPECT_LT(j["swap_seconds"].get<double>(), 5.0);
  RecordProperty("swap_ms", std::to_string(j["swap_seconds"].get<double>() * 1000));
  RecordProperty("replace_restore_seconds", std::to_string(j["seconds"].get<double>()));
  ASSERT_TRUE(j["safety_backup"].is_string()) << j.dump();
  std::string safety = j["safety_backup"].get<std::string>();

  EXPECT_EQ(TableFingerprints(db), backed_up);
  EXPECT_EQ(DatabaseProps(db), props);
  EXPECT_EQ(IndexesNeverRebuilt(db), "0");
  EXPECT_EQ(Leftovers(db), 0);
  EXPECT_EQ(DatabasesStartingWith(db + "_old_"), 0);

  // The safety backup holds the state just before the replace, and is tagged.
  auto show = RunCli({"backups", "show", safety, "--repo", repo, "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.All();
  EXPECT_EQ(show.Json()["tag"], "safety");
  EXPECT_EQ(BackupCount(repo), 2u);
  std::string back = NewName("rr_main_back");
  auto restored = RunCli({"restore", safety, "--db", Server(), "--repo", repo, "--into", back});
  ASSERT_EQ(restored.exit_code, 0) << restored.All();
  EXPECT_EQ(TableFingerprints(back), changed);

  // The human report names the safety backup; --keep-old keeps the replaced database.
  auto human = Replace(repo, db, {id, "--yes", "--keep-old", "--no-safety-backup"});
  ASSERT_EQ(human.exit_code, 0) << human.All();
  EXPECT_NE(human.out.find("replaced " + db + " with backup " + id), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("kept as " + db + "_old_"), std::string::npos) << human.out;
  EXPECT_EQ(DatabasesStartingWith(db + "_old_"), 1);
  EXPECT_EQ(BackupCount(repo), 2u);
}

TEST(RestoreReplace, WithoutYesAndWithoutTerminalNothingChanges) {
  std::string db = CreateExampleDatabase("rr_noyes", 50);
  std::string repo = TempPath("repo_rr_noyes");
  ASSERT_FALSE(Backup(db, repo).empty());
  Change(db);
  auto before = TableFingerprints(db);
  auto r = Replace(repo, db, {});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("needs confirmation"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--yes"), std::string::npos) << r.err;
  EXPECT_EQ(TableFingerprints(db), before);
  EXPECT_EQ(BackupCount(repo), 1u);  // no safety backup either
  EXPECT_EQ(Leftovers(db), 0);
}

TEST(RestoreReplace, ArgumentsAndMissingDatabase) {
  std::string repo = TempPath("repo_rr_args");
  std::string db = CreateExampleDatabase("rr_args", 10);
  ASSERT_FALSE(Backup(db, repo).empty());
  auto both = RunCli({"restore", "--db", Server(), "--repo", repo, "--into", "x", "--replace", db, "--yes"});
  EXPECT_EQ(both.exit_code, 2) << both.All();
  auto neither = RunCli({"restore", "--db", Server(), "--repo", repo});
  EXPECT_EQ(neither.exit_code, 2) << neither.All();
  EXPECT_NE(neither.err.find("--into NEWDB or --replace DB"), std::string::npos) << neither.err;
  auto table = Replace(repo, db, {"--yes", "--table", "positions"});
  EXPECT_EQ(table.exit_code, 2) << table.All();
  auto missing = Replace(repo, NewName("rr_missing"), {"--yes"});
  EXPECT_EQ(missing.exit_code, 2) << missing.All();
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("--into"), std::string::npos) << missing.err;
}

TEST(RestoreReplace, ConnectedSessionRefusedBeforeAnyWorkUnlessTerminated) {
  std::string db = CreateExampleDatabase("rr_sess", 100);
  std::string repo = TempPath("repo_rr_sess");
  ASSERT_FALSE(Backup(db, repo).empty());
  auto backed_up = TableFingerprints(db);
  Change(db);
  auto before = TableFingerprints(db);
  auto session = pg::Connection::Connect(ConnInfo(db), {.application_name = "rr-billing"});
  ASSERT_TRUE(session.ok()) << session.status().ToString();

  auto r = Replace(repo, db, {"--yes"});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("1 session (rr-billing: 1) connected to " + db), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--terminate-sessions"), std::string::npos) << r.err;
  EXPECT_EQ(TableFingerprints(db), before);
  EXPECT_EQ(BackupCount(repo), 1u);  // refused before the safety backup
  EXPECT_TRUE(session->QueryValue("SELECT 1").ok());

  r = Replace(repo, db, {"--yes", "--terminate-sessions", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_GE(r.Json()["terminated_sessions"].get<int>(), 1);
  EXPECT_FALSE(session->QueryValue("SELECT 1").ok());
  EXPECT_EQ(TableFingerprints(db), backed_up);
  EXPECT_EQ(Leftovers(db), 0);
}

TEST(RestoreReplace, CorruptedBackupRefusedBeforeTouchingAnything) {
  std::string db = CreateExampleDatabase("rr_flip", 300);
  std::string repo = TempPath("repo_rr_flip");
  std::string id = Backup(db, repo, {"--compression", "none"});
  ASSERT_FALSE(id.empty());
  std::string file = repo + "/backups/" + id + "/data";
  std::string largest;
  uintmax_t size = 0;
  for (const auto& e : std::filesystem::directory_iterator(file)) {
    if (e.path().extension() == ".copy" && e.file_size() > size) {
      size = e.file_size();
      largest = e.path().string();
    }
  }
  ASSERT_FALSE(largest.empty());
  {
    std::fstream f(largest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(50);
    f.put('#');
  }
  Change(db);
  auto before = TableFingerprints(db);
  auto r = Replace(repo, db, {"--yes"});
  EXPECT_NE(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find("checksum mismatch"), std::string::npos) << r.err;
  EXPECT_EQ(TableFingerprints(db), before);
  EXPECT_EQ(BackupCount(repo), 1u);
  EXPECT_EQ(Leftovers(db), 0);
}

TEST(RestoreReplace, FailingCopyLeavesTheOriginalAndNoTemporaryDatabase) {
  std::string db = CreateExampleDatabase("rr_copy", 50);
  // Rows that the source accepts and the temporary database rejects: the COPY fails.
  Exec(db, R"sql(
    CREATE FUNCTION public.not_in_replace() RETURNS boolean LANGUAGE sql IMMUTABLE
      AS $$ SELECT current_database() NOT LIKE 'pgkeeper\_replace\_%' $$;
    CREATE TABLE guarded (id int PRIMARY KEY, v text CHECK (public.not_in_replace()));
    INSERT INTO guarded SELECT g, 'x' FROM generate_series(1, 100) g;
  )sql");
  std::string repo = TempPath("repo_rr_copy");
  ASSERT_FALSE(Backup(db, repo).empty());
  Change(db);
  auto before = TableFingerprints(db);
  auto r = Replace(repo, db, {"--yes", "--no-safety-backup"});
  EXPECT_EQ(r.exit_code, 3) << r.All();
  EXPECT_NE(r.err.find("violates check constraint"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(db + " is untouched"), std::string::npos) << r.err;
  EXPECT_EQ(TableFingerprints(db), before);
  EXPECT_EQ(Leftovers(db), 0);
  EXPECT_EQ(BackupCount(repo), 1u);
}

TEST(RestoreReplace, CountMismatchDoesNotSwap) {
  std::string db = CreateExampleDatabase("rr_count", 80);
  std::string repo = TempPath("repo_rr_count");
  std::string id = Backup(db, repo);
  ASSERT_FALSE(id.empty());
  std::string path = repo + "/backups/" + id + "/manifest.json";
  std::ifstream in(path);
  auto m = nlohmann::json::parse(in);
  in.close();
  m["row_counts"]["public.positions"] = 81;
  std::ofstream(path) << m.dump(2);
  Change(db);
  auto before = TableFingerprints(db);
  auto r = Replace(repo, db, {"--yes", "--no-safety-backup"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.out.find("public.positions"), std::string::npos) << r.All();
  EXPECT_NE(r.err.find(db + " was not replaced"), std::string::npos) << r.err;
  EXPECT_EQ(TableFingerprints(db), before);
  EXPECT_EQ(Leftovers(db), 0);
}

TEST(RestoreReplace, KillNineMidRestoreLeavesTheOriginalAndTheNextRunDropsTheLeftover) {
  std::string db = CreateExampleDatabase("rr_kill", 100);
  AddBulk(db);
  std::string repo = TempPath("repo_rr_kill");
  ASSERT_FALSE(Backup(db, repo).empty());
  auto backed_up = TableFingerprints(db);
  Change(db);
  auto before = TableFingerprints(db);

  auto bg = Start(ReplaceArgs(repo, db, {"--yes", "--no-safety-backup", "--jobs", "1"}));
  ASSERT_TRUE(WaitForTemporary(db)) << ReadLog(bg.log);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  bg.process.Signal(SIGKILL);
  EXPECT_EQ(bg.process.Wait(), 128 + SIGKILL) << ReadLog(bg.log);
  EXPECT_EQ(TableFingerprints(db), before);
  EXPECT_EQ(Leftovers(db), 1);

  auto r = Replace(repo, db, {"--yes", "--no-safety-backup", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.Json()["dropped_leftovers"].size(), 1u) << r.out;
  EXPECT_EQ(Leftovers(db), 0);
  EXPECT_EQ(TableFingerprints(db), backed_up);
}

TEST(RestoreReplace, SessionThatConnectsDuringTheRestore) {
  std::string db = CreateExampleDatabase("rr_late", 100);
  AddBulk(db);
  std::string repo = TempPath("repo_rr_late");
  ASSERT_FALSE(Backup(db, repo).empty());
  auto backed_up = TableFingerprints(db);
  Change(db);
  auto before = TableFingerprints(db);

  // Without --terminate-sessions: the swap is refused, the restored copy dropped.
  auto bg = Start(ReplaceArgs(repo, db, {"--yes", "--no-safety-backup", "--jobs", "1"}));
  ASSERT_TRUE(WaitForTemporary(db)) << ReadLog(bg.log);
  auto late = pg::Connection::Connect(ConnInfo(db), {.application_name = "rr-late"});
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_EQ(bg.process.Wait(), 2) << ReadLog(bg.log);
  std::string log = ReadLog(bg.log);
  EXPECT_NE(log.find("rr-late: 1"), std::string::npos) << log;
  EXPECT_NE(log.find("while the backup was restored"), std::string::npos) << log;
  EXPECT_NE(log.find("restored copy was dropped"), std::string::npos) << log;
  EXPECT_TRUE(late->QueryValue("SELECT 1").ok());
  EXPECT_EQ(TableFingerprints(db), before);
  EXPECT_EQ(Leftovers(db), 0);

  // With it: terminated again right before the swap.
  bg = Start(ReplaceArgs(repo, db, {"--yes", "--no-safety-backup", "--jobs", "1", "--terminate-sessions"}));
  ASSERT_TRUE(WaitForTemporary(db)) << ReadLog(bg.log);
  auto late2 = pg::Connection::Connect(ConnInfo(db), {.application_name = "rr-late"});
  ASSERT_TRUE(late2.ok()) << late2.status().ToString();
  EXPECT_EQ(bg.process.Wait(), 0) << ReadLog(bg.log);
  EXPECT_FALSE(late2->QueryValue("SELECT 1").ok());
  EXPECT_EQ(TableFingerprints(db), backed_up);
  EXPECT_EQ(Leftovers(db), 0);
}

TEST(RestoreReindex, IntoAndTable) {
  std::string src = CreateExampleDatabase("rr_reindex", 100);
  std::string repo = TempPath("repo_rr_reindex");
  ASSERT_FALSE(Backup(src, repo).empty());

  std::string plain = NewName("rr_plain");
  auto r = RunCli({"restore", "--db", Server(), "--repo", repo, "--into", plain});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(IndexesNeverRebuilt(plain), "0");

  std::string rebuilt = NewName("rr_rebuilt");
  r = RunCli({"restore", "--db", Server(), "--repo", repo, "--into", rebuilt, "--reindex", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_GT(r.Json()["reindexed"].get<int>(), 0);
  EXPECT_EQ(IndexesNeverRebuilt(rebuilt), "0");
  EXPECT_EQ(TableFingerprints(rebuilt), TableFingerprints(src));
  EXPECT_NE(r.err.find("reindex"), std::string::npos) << r.err;

  r = RunCli(
      {"restore", "--db", Server(), "--repo", repo, "--into", src, "--table", "positions", "--reindex", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_GT(r.Json()["reindexed"].get<int>(), 0);
  EXPECT_EQ(QueryValue(src,
                       "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       "WHERE i.indrelid = 'positions_restored'::regclass AND c.relfilenode = c.oid"),
            "0");
}

TEST(VerifyRestoreTest, PassesOnAGoodBackupAndNamesTheTableWhenCountsDiffer) {
  std::string db = CreateExampleDatabase("rr_verify", 120);
  std::string repo = TempPath("repo_rr_verify");
  std::string id = Backup(db, repo);
  ASSERT_FALSE(id.empty());
  auto scratch = [] { return DatabasesStartingWith("pgkeeper_drill_"); };
  int scratch_before = scratch();

  auto r = RunCli({"verify", "--repo", repo, "--restore-test", "--target", "server", "--db", Server(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto j = r.Json();
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["backups"][0]["restore_test"]["passed"], true) << j.dump();
  EXPECT_GT(j["backups"][0]["restore_test"]["rows"].get<int64_t>(), 120);
  EXPECT_EQ(scratch(), scratch_before);

  // The default target is the embedded cluster, started and stopped again.
  std::string dir = TempPath("rr_verify_cluster");
  r = RunCli({"verify", id, "--repo", repo, "--restore-test", "--dir", dir});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("restore test passed"), std::string::npos) << r.out;
  auto cluster = pg::LocalCluster::Open({.dir = dir});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  EXPECT_FALSE((*cluster)->RunningPid().has_value());

  std::string path = repo + "/backups/" + id + "/manifest.json";
  std::ifstream in(path);
  auto m = nlohmann::json::parse(in);
  in.close();
  m["row_counts"]["public.positions"] = 121;
  std::ofstream(path) << m.dump(2);
  r = RunCli({"verify", "--repo", repo, "--restore-test", "--target", "server", "--db", Server()});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.out.find("public.positions (expected 121, restored 120)"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("public.positions"), std::string::npos) << r.err;
  EXPECT_EQ(scratch(), scratch_before);
  // The hashes alone still pass: the files are intact.
  EXPECT_EQ(RunCli({"verify", "--repo", repo}).exit_code, 0);
}

}  // namespace pgk::test
