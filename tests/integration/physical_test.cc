// Physical backups and point-in-time restore against a real, archiving cluster:
// backup --type physical (full, incremental, differential), restore --pgdata with and
// without targets, --start, and the checks PostgreSQL itself offers on the result
// (pg_checksums, pg_amcheck). Every restored cluster is started and compared row by row.
//
// The cluster is this binary's own (archive_mode needs a restart). Under root the
// server runs as `postgres`: the repository it archives into is owned by that user, and
// restored data directories are handed to it by the restore.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/process.h"
#include "harness/archiving.h"
#include "harness/harness.h"
#include "pg/conninfo.h"
#include "pg/local_cluster.h"
#include "pg/quote.h"
#include "repo/repository.h"

namespace pgk::test {

namespace {

namespace stdfs = std::filesystem;

std::string SourceDb(const std::string& prefix) { return NewDatabase(SharedSource(), prefix); }

std::string ExampleDb(const std::string& prefix, int positions) {
  return NewExampleDatabase(SharedSource(), prefix, positions);
}

// The restored server: same roles and password as the source, on its own port.
std::string RestoredConninfo(int port, const std::string& db) {
  return pgk::test::RestoredConninfo(SharedSource(), port, db);
}

CliResult Backup(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"backup", "--type",     "physical", "--db", SharedSource().ConnInfo(),
                                   "--repo", SharedRepo(), "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCliAsServerUser(args);
}

using Restored = RestoredServer;

Restored RestoreAndStart(const std::string& name, const std::vector<std::string>& extra = {}) {
  return RestorePhysicalAndStart(SharedRepo(), name, extra);
}

}  // namespace

TEST(Physical, FullBackupRestoresToAnIdenticalHealthyCluster) {
  std::string db = ExampleDb("phys_full", 300);
  auto expected = PermanentTableFingerprints(SharedSource().ConnInfo(db));
  auto b = Backup({"--mode", "full", "--jobs", "3"});
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
  auto j = b.Json();
  EXPECT_EQ(j["mode"], "full");
  // auto: the server's data directory is readable here (the test runs as its owner).
  EXPECT_EQ(j["source"], "pgdata");
  EXPECT_FALSE(j["from_standby"].get<bool>());
  EXPECT_TRUE(j["data_checksums"].get<bool>());
  EXPECT_EQ(j["page_errors"].size(), 0u);
  EXPECT_GT(j["files_copied"].get<int>(), 500);
  std::string id = j["id"];
  EXPECT_EQ(id.back(), 'F');

  // The manifest: what pg_basebackup leaves out is not there; backup_label is.
  auto repository = repo::Repository::Open({.url = SharedRepo()});
  ASSERT_TRUE(repository.ok()) << repository.status().ToString();
  auto m = (*repository)->LoadBackup(id);
  ASSERT_TRUE(m.ok());
  std::set<std::string> names;
  for (const auto& f : m->files) names.insert(f.name);
  EXPECT_TRUE(names.count("pgdata/backup_label"));
  EXPECT_TRUE(names.count("pgdata/global/pg_control"));
  EXPECT_TRUE(names.count("pgdata/PG_VERSION"));
  EXPECT_FALSE(names.count("pgdata/postmaster.pid"));
  for (const auto& n : names) EXPECT_FALSE(n.starts_with("pgdata/pg_wal/")) << n;
  ASSERT_TRUE(m->physical);
  EXPECT_EQ(m->physical->superuser, "postgres");
  struct stat st {};
  ASSERT_EQ(::stat((SharedRepo() + "/backups/" + id + "/pgdata/PG_VERSION").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto r = RestoreAndStart("phys_full_restored");
  ASSERT_GT(r.pid, 0) << r.report.dump();
  EXPECT_TRUE(r.report["started"]["promoted"].get<bool>());
  EXPECT_EQ(PermanentTableFingerprints(RestoredConninfo(r.port, db)), expected);
  // Unlogged tables come back empty, as after a crash.
  auto restored = MustConnect(RestoredConninfo(r.port, db));
  EXPECT_EQ(ValueOf(restored, "SELECT count(*) FROM scratch"), "0");
  auto amcheck =
      RunProcess({.argv = {SharedSource().binaries().Path("pg_amcheck"), "--install-missing", "--heapallindexed", "-h",
                           "127.0.0.1", "-p", std::to_string(r.port), "-U", "postgres", "-d", db},
                  .env = {{"PGPASSWORD", PasswordOf(SharedSource())}},
                  .capture = true});
  ASSERT_TRUE(amcheck.ok());
  EXPECT_EQ(amcheck->exit_code, 0) << amcheck->output;
  StopServer(r.pid);
  auto checksums = RunAsServerUser({SharedSource().binaries().Path("pg_checksums"), "--check", "-D", r.pgdata});
  EXPECT_EQ(checksums.exit_code, 0) << checksums.output;
  stdfs::remove_all(r.pgdata);
}

TEST(Physical, IncrementalAndDifferentialReferenceUnchangedFiles) {
  std::string db = ExampleDb("phys_incr", 200);
  auto full = Backup({"--mode", "full"});
  ASSERT_EQ(full.exit_code, 0) << full.out << full.err;
  std::string full_id = full.Json()["id"];
  // Files written just before the full backup started are compared by checksum, not
  // trusted by time: wait past the safety margin so the test sees plain references too.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  auto conn = MustConnect(SharedSource().ConnInfo(db));
  ASSERT_TRUE(conn.Exec("INSERT INTO blobs SELECT g, 'changed' FROM generate_series(1000, 1100) g").ok());
  auto incr = Backup();  // the default mode: incr
  ASSERT_EQ(incr.exit_code, 0) << incr.out << incr.err;
  auto j = incr.Json();
  EXPECT_EQ(j["mode"], "incr");
  EXPECT_EQ(j["reference"], full_id);
  EXPECT_GT(j["files_referenced"].get<int>(), j["files_copied"].get<int>()) << j.dump();
  EXPECT_LT(j["bytes_copied"].get<uint64_t>(), j["original_bytes"].get<uint64_t>() / 2) << j.dump();
  std::string incr_id = j["id"];
  EXPECT_EQ(incr_id.back(), 'I');

  ASSERT_TRUE(conn.Exec("UPDATE blobs SET big = 'again' WHERE id = 1000").ok());
  auto diff = Backup({"--mode", "diff"});
  ASSERT_EQ(diff.exit_code, 0) << diff.out << diff.err;
  EXPECT_EQ(diff.Json()["reference"], full_id);
  auto expected = PermanentTableFingerprints(SharedSource().ConnInfo(db));

  // verify reads the referenced files from the backups that store them.
  auto verified = RunCli({"verify", diff.Json()["id"], "--repo", SharedRepo()});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;

  auto r = RestoreAndStart("phys_incr_restored", {"--immediate"});
  ASSERT_GT(r.pid, 0);
  EXPECT_EQ(r.report["backup"], diff.Json()["id"]);
  EXPECT_EQ(PermanentTableFingerprints(RestoredConninfo(r.port, db)), expected);
  StopServer(r.pid);

  // --delta on the directory the server just ran in: unchanged files are kept, the
  // server's new files (WAL of the new timeline, ...) removed, and it recovers again.
  auto again = RunCli({"restore", "--repo", SharedRepo(), "--pgdata", r.pgdata, "--delta", "--yes", "--immediate",
                       "--start", "--port", std::to_string(r.port), "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  auto aj = again.Json();
  EXPECT_GT(aj["files_kept"].get<int>(), 100) << aj.dump();
  EXPECT_GT(aj["files_removed"].get<int>(), 0) << aj.dump();
  EXPECT_EQ(PermanentTableFingerprints(RestoredConninfo(r.port, db)), expected);
  StopServer(aj["started"]["pid"].get<pid_t>());
  stdfs::remove_all(r.pgdata);
}

TEST(Physical, PointInTimeRestoreHoldsExactlyTheCommittedTransactions) {
  std::string db = SourceDb("phys_pitr");
  auto conn = MustConnect(SharedSource().ConnInfo(db));
  ASSERT_TRUE(conn.Exec("CREATE TABLE events (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())").ok());
  auto b = Backup();
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
  // Five transactions, 300 ms apart; after each: the time, an LSN, and for some an xid or a
  // restore point.
  std::vector<std::string> after_commit;
  std::string xid3, lsn2;
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(conn.Exec("BEGIN").ok());
    if (i == 3) xid3 = ValueOf(conn, "SELECT txid_current()");
    ASSERT_TRUE(conn.Exec("INSERT INTO events (id) VALUES (" + std::to_string(i) + "); COMMIT").ok());
    after_commit.push_back(ValueOf(conn, "SELECT clock_timestamp()"));
    if (i == 2) lsn2 = ValueOf(conn, "SELECT pg_current_wal_lsn()");
    if (i == 3) {
      ASSERT_TRUE(conn.Exec("SELECT pg_create_restore_point('after-3')").ok());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  SwitchAndWaitArchived(conn);

  auto rows_after = [&](const std::string& name, const std::vector<std::string>& target) {
    auto r = RestoreAndStart(name, target);
    if (r.pid <= 0) return std::string("restore failed");
    auto restored = MustConnect(RestoredConninfo(r.port, db));
    std::string ids = ValueOf(restored, "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM events");
    StopServer(r.pid);
    stdfs::remove_all(r.pgdata);
    return ids;
  };
  // Between commit 2 and commit 3: exactly 1 and 2.
  EXPECT_EQ(rows_after("pitr_time", {"--target-time", after_commit[1]}), "1,2");
  EXPECT_EQ(rows_after("pitr_time4", {"--target-time", after_commit[3]}), "1,2,3,4");
  EXPECT_EQ(rows_after("pitr_xid", {"--target-xid", xid3}), "1,2,3");
  EXPECT_EQ(rows_after("pitr_xid_excl", {"--target-xid", xid3, "--target-exclusive"}), "1,2");
  EXPECT_EQ(rows_after("pitr_lsn", {"--target-lsn", lsn2}), "1,2");
  EXPECT_EQ(rows_after("pitr_name", {"--target-name", "after-3"}), "1,2,3");
  EXPECT_EQ(rows_after("pitr_latest", {}), "1,2,3,4,5");
}

TEST(Physical, TargetsBeforeEveryBackupAndNonEmptyDirectoriesAreRefused) {
  auto early = RunCli(
      {"restore", "--repo", SharedRepo(), "--pgdata", TempPath("never"), "--target-time", "2001-01-01 00:00:00+00"});
  EXPECT_EQ(early.exit_code, 2) << early.out << early.err;
  EXPECT_NE(early.err.find("no physical backup can reach"), std::string::npos) << early.err;

  std::string busy = MakeFiles("phys_busy", {{"keep.txt", "mine"}});
  auto refused = RunCli({"restore", "--repo", SharedRepo(), "--pgdata", busy});
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("is not empty"), std::string::npos) << refused.err;
  // --delta needs a confirmation, and a data directory to work on.
  auto unconfirmed = RunCli({"restore", "--repo", SharedRepo(), "--pgdata", busy, "--delta"});
  EXPECT_EQ(unconfirmed.exit_code, 2);
  EXPECT_NE(unconfirmed.err.find("--yes"), std::string::npos) << unconfirmed.err;
  auto not_pgdata = RunCli({"restore", "--repo", SharedRepo(), "--pgdata", busy, "--delta", "--yes"});
  EXPECT_EQ(not_pgdata.exit_code, 2);
  EXPECT_NE(not_pgdata.err.find("does not look like a data directory"), std::string::npos) << not_pgdata.err;
  std::ifstream kept(busy + "/keep.txt");
  std::string content((std::istreambuf_iterator<char>(kept)), {});
  EXPECT_EQ(content, "mine");
}

TEST(Physical, CorruptPageIsReportedByFileAndBlock) {
  std::string db, rel;
  DatabaseWithCorruptPage("phys_corrupt", &db, &rel);
  if (HasFatalFailure()) return;
  auto b = Backup();
  EXPECT_EQ(b.exit_code, 1) << b.out << b.err;
  auto j = b.Json();
  ASSERT_EQ(j["page_errors"].size(), 1u) << j.dump();
  EXPECT_EQ(j["page_errors"][0]["file"], rel);
  EXPECT_EQ(j["page_errors"][0]["blocks"], nlohmann::json::array({1}));
  // Later tests must not inherit the damage.
  auto conn = MustConnect(SharedSource().ConnInfo("postgres"));
  ASSERT_TRUE(conn.Exec("DROP DATABASE " + pg::QuoteIdent(db)).ok());
}

}  // namespace pgk::test
