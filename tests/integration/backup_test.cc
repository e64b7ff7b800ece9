// `pgkeeper backup` against a real server into real repositories: what the manifest
// records, encryption, secrets, and kill -9 at random moments.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "common/process.h"
#include "harness/harness.h"
#include "pipeline/pipeline.h"
#include "repo/repository.h"

namespace pgk::test {

namespace {

const char kKey[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

CliResult Backup(const std::string& db, const std::string& repo, std::vector<std::string> extra = {},
                 std::map<std::string, std::string> env = {}) {
  std::vector<std::string> args = {"backup", "--db", UrlWithPassword(db), "--repo", repo, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCli(args, env);
}

// Every listed backup must verify completely.
void ExpectAllListedBackupsVerify(const std::string& repo_path) {
  auto repository = repo::Repository::Open({.url = repo_path});
  ASSERT_TRUE(repository.ok()) << repository.status().ToString();
  auto backups = (*repository)->ListBackups();
  ASSERT_TRUE(backups.ok());
  for (const auto& m : *backups) {
    auto key = (*repository)->DataKey(m);
    ASSERT_TRUE(key.ok());
    for (const auto& f : m.files) {
      auto reader = (*repository)->OpenFile(m, f, *key ? &**key : nullptr);
      ASSERT_TRUE(reader.ok()) << m.id << "/" << f.name << ": " << reader.status().ToString();
      Status s = pipeline::Verify(**reader);
      EXPECT_TRUE(s.ok()) << m.id << "/" << f.name << ": " << s.ToString();
    }
  }
}

}  // namespace

TEST(Backup, ManifestRecordsEverything) {
  std::string db = CreateExampleDatabase("bk_manifest", 500);
  std::string repo = TempPath("bk_manifest_repo");
  auto r = Backup(db, repo, {"--tag", "daily", "--jobs", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = r.Json();
  EXPECT_EQ(j["tables"], 10);
  EXPECT_EQ(j["migration_version"], 5);
  EXPECT_EQ(j["encrypted"], false);
  auto repository = repo::Repository::Open({.url = repo});
  ASSERT_TRUE(repository.ok());
  auto m = (*repository)->LoadBackup("latest");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->id, j["id"]);
  EXPECT_EQ(m->tag, "daily");
  EXPECT_EQ(m->database, db);
  EXPECT_EQ(m->row_counts["public.positions"], 500);
  EXPECT_EQ(std::to_string(m->row_counts["public.position_events"]),
            QueryValue(db, "SELECT count(*) FROM position_events"));
  std::set<std::string> kinds;
  for (const auto& f : m->files) {
    kinds.insert(f.kind);
    EXPECT_EQ(f.original_sha256.size(), 64u);
    EXPECT_EQ(f.stored_sha256.size(), 64u);
    EXPECT_EQ(f.compression, "zstd");
  }
  EXPECT_TRUE(kinds.count("schema-pre") && kinds.count("schema-post") && kinds.count("table-data") &&
              kinds.count("sequences"));
  ExpectAllListedBackupsVerify(repo);
  // Private files: 0600 files, 0700 directories.
  struct stat st {};
  ASSERT_EQ(::stat((repo + "/backups/" + m->id + "/manifest.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((repo + "/backups/" + m->id).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(Backup, DatabaseWithoutMigrationHistory) {
  std::string db = CreateDatabase("bk_nohistory");
  ASSERT_TRUE(Connect(db).Exec("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'x' FROM "
                               "generate_series(1, 100) g; CREATE SEQUENCE s; SELECT nextval('s');")
                  .ok());
  auto r = Backup(db, TempPath("bk_nohistory_repo"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.Json()["migration_version"].is_null());
  EXPECT_EQ(r.Json()["rows"], 100);
}

TEST(Backup, EncryptedRepositoryNeedsTheRightKey) {
  std::string db = CreateExampleDatabase("bk_crypt", 100);
  std::string repo = TempPath("bk_crypt_repo");
  auto r = Backup(db, repo, {}, {{"PGKEEPER_ENCRYPTION_KEY", kKey}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.Json()["encrypted"], true);
  EXPECT_EQ(r.All().find(kKey), std::string::npos);
  // Stored data starts with the encryption header; no plaintext table data on disk.
  std::string id = r.Json()["id"];
  std::ifstream f(repo + "/backups/" + id + "/data/0001.copy", std::ios::binary);
  char magic[8] = {};
  f.read(magic, 8);
  EXPECT_EQ(std::string(magic, 7), "PGKENC1");
  // No key, a wrong key, or a key for an unencrypted repository: refused, exit 2.
  r = Backup(db, repo);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("encrypted and no key"), std::string::npos) << r.err;
  std::string wrong(kKey);
  wrong[0] = 'f';
  r = Backup(db, repo, {}, {{"PGKEEPER_ENCRYPTION_KEY", wrong}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("wrong encryption key"), std::string::npos) << r.err;
  std::string plain_repo = TempPath("bk_crypt_plain");
  ASSERT_EQ(Backup(db, plain_repo).exit_code, 0);
  EXPECT_EQ(Backup(db, plain_repo, {}, {{"PGKEEPER_ENCRYPTION_KEY", kKey}}).exit_code, 2);
}

// The password reaches pg_dump through a private passfile, never its command line.
TEST(Backup, PasswordNeverInChildArgv) {
  std::string db = CreateExampleDatabase("bk_argv", 10);
  std::string bindir = TempPath("bk_argv_bin");
  std::string log = TempPath("bk_argv.log");
  std::filesystem::create_directories(bindir);
  std::string real = Cluster().binaries().bindir;
  for (const char* tool : {"postgres", "initdb"}) std::filesystem::create_symlink(real + "/" + tool, bindir + "/" + tool);
  std::ofstream(bindir + "/pg_dump") << "#!/bin/sh\necho \"$@\" >> " << log << "\nenv | grep -i pgpassword >> " << log
                                     << " || true\nexec " << real << "/pg_dump \"$@\"\n";
  std::filesystem::permissions(bindir + "/pg_dump", std::filesystem::perms::owner_all);
  auto r = Backup(db, TempPath("bk_argv_repo"), {}, {{"PGKEEPER_PG_BINDIR", bindir}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("--section=pre-data"), std::string::npos) << text;
  EXPECT_EQ(text.find(Password()), std::string::npos) << "password leaked to pg_dump's argv or env: " << text;
}

TEST(Backup, SuspiciouslySmallIsFlagged) {
  std::string db = CreateExampleDatabase("bk_small", 2000);
  std::string repo = TempPath("bk_small_repo");
  ASSERT_EQ(Backup(db, repo).exit_code, 0);
  ASSERT_TRUE(Connect(db).Exec("TRUNCATE ledger_events, position_events, positions, audit_events CASCADE").ok());
  auto r = Backup(db, repo);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.Json().value("warning", "").find("suspiciously small"), std::string::npos) << r.out;
}

TEST(Backup, SelectedTablesOnly) {
  std::string db = CreateExampleDatabase("bk_tables", 50);
  std::string repo = TempPath("bk_tables_repo");
  auto r = Backup(db, repo, {"-t", "institutions", "-t", "public.assets", "--compression", "lz4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.Json()["tables"], 2);
  EXPECT_EQ(Backup(db, repo, {"-t", "no_such_table"}).exit_code, 2);
  EXPECT_EQ(Backup(db, repo, {"--schema-only", "--data-only"}).exit_code, 2);
}

TEST(Backup, BadRepositoryAndConnection) {
  std::string db = CreateDatabase("bk_bad");
  auto r = RunCli({"backup", "--db", UrlWithPassword(db)});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no repository"), std::string::npos);
  r = RunCli({"backup", "--db", UrlWithPassword(db), "--repo", "ftp://x/y"});
  EXPECT_EQ(r.exit_code, 2);
  auto port = pg::FindFreePort();
  r = RunCli({"backup", "--db", "postgresql://u:pw@127.0.0.1:" + std::to_string(*port) + "/x", "--repo", TempPath("bk_bad_repo")});
  EXPECT_EQ(r.exit_code, 3);
}

// kill -9 at random moments: a listed backup always verifies, and the next run succeeds.
TEST(Backup, KillNineNeverLeavesABrokenListedBackup) {
  std::string db = CreateExampleDatabase("bk_kill", 3000);
  std::string repo = TempPath("bk_kill_repo");
  std::mt19937 rng(42);
  for (int i = 0; i < 20; ++i) {
    ProcessOptions po{.argv = {BinaryPath(), "backup", "--db", UrlWithPassword(db), "--repo", repo, "-q"}};
    po.output_file = TempPath("bk_kill.log");
    auto p = Process::Spawn(po);
    ASSERT_TRUE(p.ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 600));
    p->Signal(SIGKILL);
    p->Wait();
    ExpectAllListedBackupsVerify(repo);
  }
  auto r = Backup(db, repo);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ExpectAllListedBackupsVerify(repo);
  // expire removes the killed runs' debris and nothing that is listed.
  auto before = repo::Repository::Open({.url = repo});
  size_t listed = (*before)->ListBackups()->size();
  auto e = RunCli({"expire", "--repo", repo, "--unfinished-grace", "0", "--json"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  auto after = repo::Repository::Open({.url = repo});
  EXPECT_TRUE((*after)->ListUnfinished()->empty());
  EXPECT_EQ((*after)->ListBackups()->size(), listed);
  ExpectAllListedBackupsVerify(repo);
}

TEST(Expire, KeepLastAndDryRun) {
  std::string db = CreateExampleDatabase("ex_keep", 20);
  std::string repo = TempPath("ex_keep_repo");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = Backup(db, repo);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ids.push_back(r.Json()["id"]);
  }
  auto dry = RunCli({"expire", "--repo", repo, "--keep-last", "1", "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.Json()["removed"], 2);
  EXPECT_EQ((*repo::Repository::Open({.url = repo}))->ListBackups()->size(), 3u) << "dry run removes nothing";
  // Without a policy nothing is removed.
  EXPECT_EQ(RunCli({"expire", "--repo", repo, "--json"}).Json()["removed"], 0);
  auto real = RunCli({"expire", "--repo", repo, "--keep-last", "1"});
  ASSERT_EQ(real.exit_code, 0) << real.err;
  EXPECT_NE(real.out.find("one of the last 1"), std::string::npos) << real.out;
  auto left = (*repo::Repository::Open({.url = repo}))->ListBackups();
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().id, ids.back());
}

}  // namespace pgk::test
