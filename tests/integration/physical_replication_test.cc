// Physical backups over the replication protocol (`--source replication`, BASE_BACKUP)
// and from a standby, against real servers: an archiving cluster of this binary's own
// with a tablespace, roles without REPLICATION and with only REPLICATION, a pg_hba.conf
// that rejects, a server without walsender slots, and a streaming standby made with
// pg_basebackup that archives (archive_mode = always) into the same repository. Every
// backup is restored, started and compared table by table with its source.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/process.h"
#include "harness/archiving.h"
#include "pg/quote.h"
#include "harness/harness.h"
#include "pg/conninfo.h"
#include "pg/local_cluster.h"
#include "repo/repository.h"

namespace pgk::test {

namespace {

namespace stdfs = std::filesystem;

CliResult Backup(const std::string& conninfo, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"backup", "--type", "physical", "--db", conninfo, "--repo", SharedRepo(), "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCliAsServerUser(args);
}

std::vector<std::string> BackupIds() {
  auto repository = repo::Repository::Open({.url = SharedRepo()});
  EXPECT_TRUE(repository.ok()) << repository.status().ToString();
  std::vector<std::string> ids;
  if (!repository.ok()) return ids;
  auto list = (*repository)->ListBackups();
  EXPECT_TRUE(list.ok());
  if (list.ok())
    for (const auto& m : *list) ids.push_back(m.id);
  return ids;
}

repo::Manifest Load(const std::string& id) {
  auto repository = repo::Repository::Open({.url = SharedRepo()});
  EXPECT_TRUE(repository.ok());
  auto m = (*repository)->LoadBackup(id);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : repo::Manifest{};
}

std::string Conninfo(int port, const std::string& user, const std::string& password, const std::string& db) {
  return pg::BuildConninfo(
      {{"host", "127.0.0.1"}, {"port", std::to_string(port)}, {"user", user}, {"password", password}, {"dbname", db}});
}

// Waits until the standby on `port` has replayed everything the primary wrote so far.
void WaitReplayed(pg::Connection& primary, const std::string& standby_conninfo) {
  std::string target = ValueOf(primary, "SELECT pg_current_wal_lsn()");
  auto standby = MustConnect(standby_conninfo);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ValueOf(standby, "SELECT pg_last_wal_replay_lsn() >= '" + target + "'::pg_lsn") == "t") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL() << "the standby did not replay up to " << target;
}

}  // namespace

TEST(PhysicalReplication, FullAndIncrementalOverReplicationRestoreWithTheirTablespace) {
  std::string db = NewExampleDatabase(SharedSource(), "repl_full", 200);
  std::string location = ServerOwnedDir("physrepl-tablespace");
  auto conn = MustConnect(SharedSource().ConnInfo(db));
  ASSERT_TRUE(conn.Exec("CREATE TABLESPACE repl_ts LOCATION '" + location + "'").ok());
  ASSERT_TRUE(conn.Exec("CREATE TABLE in_ts (id int PRIMARY KEY, v text) TABLESPACE repl_ts;"
                        "INSERT INTO in_ts SELECT g, md5(g::text) FROM generate_series(1, 5000) g")
                  .ok());
  std::string ts_oid = ValueOf(conn, "SELECT oid FROM pg_tablespace WHERE spcname = 'repl_ts'");

  auto full = Backup(SharedSource().ConnInfo(), {"--source", "replication", "--mode", "full"});
  ASSERT_EQ(full.exit_code, 0) << full.out << full.err;
  auto fj = full.Json();
  EXPECT_EQ(fj["source"], "replication");
  EXPECT_EQ(fj["mode"], "full");
  EXPECT_EQ(fj["page_errors"].size(), 0u);
  EXPECT_GT(fj["files_copied"].get<int>(), 500);
  std::string full_id = fj["id"];

  // Stored exactly as the data directory copy stores it.
  repo::Manifest m = Load(full_id);
  ASSERT_TRUE(m.physical);
  EXPECT_EQ(m.physical->source, "replication");
  EXPECT_FALSE(m.physical->from_standby);
  std::set<std::string> names;
  for (const auto& f : m.files) names.insert(f.name);
  EXPECT_TRUE(names.count("pgdata/backup_label"));
  EXPECT_TRUE(names.count("pgdata/tablespace_map"));
  EXPECT_TRUE(names.count("pgdata/global/pg_control"));
  EXPECT_TRUE(names.count("pgdata/PG_VERSION"));
  EXPECT_FALSE(names.count("pgdata/postmaster.pid"));
  bool ts_file = false;
  for (const auto& n : names) {
    EXPECT_FALSE(n.starts_with("pgdata/pg_wal/")) << n;
    ts_file = ts_file || n.starts_with("pgdata/pg_tblspc/" + ts_oid + "/PG_15_");
  }
  EXPECT_TRUE(ts_file) << "no file of tablespace " << ts_oid;
  bool link = false, wal_dir = false;
  for (const auto& p : m.physical->paths) {
    if (p.path == "pg_tblspc/" + ts_oid) link = p.link && p.target == location;
    wal_dir = wal_dir || (p.path == "pg_wal" && !p.link);
  }
  EXPECT_TRUE(link);
  EXPECT_TRUE(wal_dir);
  for (const auto& f : m.files) {
    if (f.name == "pgdata/PG_VERSION") {
      EXPECT_EQ(f.mode, 0600u);
      EXPECT_GT(f.mtime_ns, 0);
    }
  }

  // Tar times are whole seconds: wait past the widened safety margin so that unchanged
  // files are referenced by time, not only by checksum.
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  ASSERT_TRUE(conn.Exec("INSERT INTO blobs SELECT g, 'changed' FROM generate_series(1000, 1100) g;"
                        "UPDATE in_ts SET v = 'changed' WHERE id <= 10")
                  .ok());
  auto incr = Backup(SharedSource().ConnInfo(), {"--source", "replication"});
  ASSERT_EQ(incr.exit_code, 0) << incr.out << incr.err;
  auto ij = incr.Json();
  EXPECT_EQ(ij["mode"], "incr");
  EXPECT_EQ(ij["reference"], full_id);
  EXPECT_GT(ij["files_referenced"].get<int>(), ij["files_copied"].get<int>()) << ij.dump();
  EXPECT_LT(ij["bytes_copied"].get<uint64_t>(), ij["original_bytes"].get<uint64_t>() / 2) << ij.dump();
  // Nothing stored for a referenced file (also those dropped again after a checksum match).
  repo::Manifest im = Load(ij["id"]);
  size_t stored = 0;
  for (const auto& f : im.files) {
    bool here = stdfs::exists(SharedRepo() + "/backups/" + im.id + "/" + f.name);
    EXPECT_EQ(here, f.reference.empty()) << f.name;
    stored += here;
  }
  EXPECT_EQ(stored, ij["files_copied"].get<size_t>());
  auto verified = RunCli({"verify", ij["id"], "--repo", SharedRepo()});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  auto expected = PermanentTableFingerprints(SharedSource().ConnInfo(db));
  EXPECT_EQ(expected.count("public.in_ts"), 1u);

  // The restore puts the tablespace where it was, so the source gives it up first; the
  // restore stops at the backup's consistency point, before the drop.
  ASSERT_TRUE(conn.Exec("DROP TABLE in_ts").ok());
  ASSERT_TRUE(conn.Exec("DROP TABLESPACE repl_ts").ok());
  auto r = RestorePhysicalAndStart(SharedRepo(), "repl_restored", {ij["id"].get<std::string>(), "--immediate"});
  ASSERT_GT(r.pid, 0) << r.report.dump();
  EXPECT_EQ(r.report["backup"], ij["id"]);
  EXPECT_EQ(PermanentTableFingerprints(RestoredConninfo(SharedSource(), r.port, db)), expected);
  auto restored = MustConnect(RestoredConninfo(SharedSource(), r.port, db));
  EXPECT_EQ(ValueOf(restored,
                    "SELECT spcname FROM pg_tablespace t JOIN pg_class c ON c.reltablespace = t.oid "
                    "WHERE c.relname = 'in_ts'"),
            "repl_ts");
  EXPECT_EQ(ValueOf(restored, "SELECT count(*) FROM scratch"), "0");  // unlogged: empty, as after a crash
  StopServer(r.pid);
  stdfs::remove_all(r.pgdata);
  for (const auto& e : stdfs::directory_iterator(location)) stdfs::remove_all(e.path());
}

TEST(PhysicalReplication, RoleWithoutReplicationIsRefusedAndNothingIsListed) {
  std::string role = "norepl_" + std::to_string(::getpid());
  auto admin = MustConnect(SharedSource().ConnInfo());
  ASSERT_TRUE(admin.Exec("CREATE ROLE " + role + " LOGIN PASSWORD 'Secret-pw-123'").ok());
  std::vector<std::string> before = BackupIds();
  auto dirs = [] {
    size_t n = 0;
    if (stdfs::exists(SharedRepo() + "/backups"))
      for ([[maybe_unused]] const auto& e : stdfs::directory_iterator(SharedRepo() + "/backups")) ++n;
    return n;
  };
  size_t dirs_before = dirs();
  auto b = Backup(Conninfo(SharedSource().port(), role, "Secret-pw-123", "postgres"), {"--source", "replication"});
  EXPECT_EQ(b.exit_code, 2) << b.out << b.err;
  EXPECT_NE(b.err.find("role " + role + " may not open a replication connection"), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("ALTER ROLE " + role + " REPLICATION"), std::string::npos) << b.err;
  EXPECT_EQ(b.All().find("Secret-pw-123"), std::string::npos) << b.All();
  EXPECT_EQ(BackupIds(), before);
  EXPECT_EQ(dirs(), dirs_before);  // refused before anything was written
}

// BASE_BACKUP needs the REPLICATION attribute, not superuser: such a role backs up. When
// pg_hba.conf then rejects its replication connections (the first matching line wins),
// the error names the file and the line to add; nothing is listed from the refusal.
TEST(PhysicalReplication, ReplicationRoleSufficesAndAPgHbaRefusalIsExplained) {
  std::string role = "repl_" + std::to_string(::getpid());
  auto admin = MustConnect(SharedSource().ConnInfo());
  ASSERT_TRUE(admin.Exec("CREATE ROLE " + role + " LOGIN REPLICATION PASSWORD 'Repl-pw-456'").ok());
  std::string conninfo = Conninfo(SharedSource().port(), role, "Repl-pw-456", "postgres");
  auto ok = Backup(conninfo, {"--source", "replication"});
  ASSERT_EQ(ok.exit_code, 0) << ok.All();
  repo::Manifest m = Load(ok.Json()["id"]);
  ASSERT_TRUE(m.physical);
  EXPECT_EQ(m.physical->source, "replication");
  EXPECT_EQ(ok.All().find("Repl-pw-456"), std::string::npos) << ok.All();

  std::string hba = (SharedSource().data_dir() / "pg_hba.conf").string();
  std::string original;
  {
    std::ifstream in(hba);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_FALSE(original.empty());
  std::ofstream(hba, std::ios::trunc) << "host replication " << role << " 127.0.0.1/32 reject\n" << original;
  ASSERT_EQ(ValueOf(admin, "SELECT pg_reload_conf()"), "t");
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the postmaster rereads it on SIGHUP
  std::vector<std::string> before = BackupIds();
  auto refused = Backup(conninfo, {"--source", "replication"});
  std::ofstream(hba, std::ios::trunc) << original;
  EXPECT_EQ(ValueOf(admin, "SELECT pg_reload_conf()"), "t");

  EXPECT_EQ(refused.exit_code, 3) << refused.All();
  EXPECT_NE(refused.err.find("pg_hba.conf rejects replication connection"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("host replication <user>"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.All().find("Repl-pw-456"), std::string::npos) << refused.All();
  EXPECT_EQ(BackupIds(), before);
}

// Over BASE_BACKUP the server checks the page checksums (VERIFY_CHECKSUMS) and reports a
// bad page as a WARNING, then fails the command at its end: the backup is still complete,
// listed, and reports the page by file and block like the data directory copy (exit 1).
TEST(PhysicalReplication, CorruptPageIsReportedByFileAndBlock) {
  std::string db, rel;
  DatabaseWithCorruptPage("physrepl_corrupt", &db, &rel);
  if (HasFatalFailure()) return;
  auto b = Backup(SharedSource().ConnInfo(), {"--source", "replication"});
  EXPECT_EQ(b.exit_code, 1) << b.out << b.err;
  auto j = b.Json();
  EXPECT_EQ(j["source"], "replication");
  ASSERT_EQ(j["page_errors"].size(), 1u) << j.dump();
  EXPECT_EQ(j["page_errors"][0]["file"], rel);
  EXPECT_EQ(j["page_errors"][0]["blocks"], nlohmann::json::array({1}));
  auto ids = BackupIds();
  EXPECT_NE(std::find(ids.begin(), ids.end(), j["id"].get<std::string>()), ids.end());
  auto conn = MustConnect(SharedSource().ConnInfo("postgres"));
  ASSERT_TRUE(conn.Exec("DROP DATABASE " + pg::QuoteIdent(db)).ok());
}

// A server with no walsender slots: the refusal says which setting to raise.
TEST(PhysicalReplication, NoWalSenderSlotsIsExplained) {
  std::string repo = ServerOwnedDir("nosenders-repo");
  auto cluster = StartArchivingCluster("nosenders-src", repo, {"max_wal_senders=0"});
  ASSERT_TRUE(cluster);
  std::vector<std::string> args = {"backup", "--type", "physical", "--db",       cluster->ConnInfo(),
                                   "--repo", repo,     "--source", "replication"};
  auto r = RunCliAsServerUser(args);
  EXPECT_EQ(r.exit_code, 3) << r.All();
  EXPECT_NE(r.err.find("max_wal_senders (currently 0)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("raise max_wal_senders"), std::string::npos) << r.err;
}

TEST(PhysicalReplication, StandbyIsBackedUpInBothModesAndRestoresToItsData) {
  // The data first, so the standby starts with it.
  std::string db = NewExampleDatabase(SharedSource(), "repl_standby", 100);
  auto primary = MustConnect(SharedSource().ConnInfo());
  std::string password = PasswordOf(SharedSource());

  std::string dir = ServerOwnedDir("physrepl-standby");
  auto made =
      RunAsServerUser({SharedSource().binaries().Path("pg_basebackup"), "-D", dir, "-R", "-X", "stream", "-c", "fast",
                       "-h", "127.0.0.1", "-p", std::to_string(SharedSource().port()), "-U", "postgres"},
                      {{"PGPASSWORD", password}});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto port = pg::FindFreePort();
  ASSERT_TRUE(port.ok());
  // The archive settings on the command line, not in the data directory: a cluster
  // restored from the standby's backup must not archive into the repository itself.
  ProcessOptions po{
      .argv = {SharedSource().binaries().Path("postgres"), "-D", dir, "-p", std::to_string(*port), "-c",
               "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "archive_mode=always", "-c",
               "archive_command='" + BinaryPath() + "' wal-push %p --repo '" + SharedRepo() + "'"},
      .unset_env = {"PGDATA", "PGPORT", "PGHOST"},
      .cwd = "/"};
  if (IsRoot()) {
    auto pg = LookupUser("postgres");
    ASSERT_TRUE(pg.ok());
    po.run_as = *pg;
  }
  po.output_file = TempPath("physrepl-standby.log");
  po.new_session = true;
  po.parent_death_signal = SIGINT;
  auto standby = Process::Spawn(po);
  ASSERT_TRUE(standby.ok()) << standby.status().ToString();
  std::string standby_conninfo = Conninfo(*port, "postgres", password, "postgres");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!pg::Connection::Connect(standby_conninfo).ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto sconn = MustConnect(standby_conninfo);
  ASSERT_EQ(ValueOf(sconn, "SELECT pg_is_in_recovery()"), "t");
  WaitReplayed(primary, standby_conninfo);
  auto expected = PermanentTableFingerprints(Conninfo(*port, "postgres", password, db));
  EXPECT_EQ(expected, PermanentTableFingerprints(SharedSource().ConnInfo(db)));

  // A standby's stop segment is complete only once the primary moves on: keep the
  // primary writing and switching segments while the backups wait for their WAL.
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    auto c = MustConnect(SharedSource().ConnInfo());
    (void)c.Exec("CREATE TABLE IF NOT EXISTS churn (at timestamptz)");
    while (!stop) {
      (void)c.Exec("INSERT INTO churn VALUES (now()); SELECT pg_switch_wal()");
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  });
  auto from_pgdata = Backup(standby_conninfo, {"--source", "pgdata", "--mode", "full", "--archive-timeout", "120"});
  auto over_replication =
      Backup(standby_conninfo, {"--source", "replication", "--mode", "full", "--archive-timeout", "120"});
  stop = true;
  churn.join();
  ASSERT_EQ(from_pgdata.exit_code, 0) << from_pgdata.out << from_pgdata.err;
  ASSERT_EQ(over_replication.exit_code, 0) << over_replication.out << over_replication.err;

  for (const auto* b : {&from_pgdata, &over_replication}) {
    auto j = b->Json();
    EXPECT_TRUE(j["from_standby"].get<bool>()) << j.dump();
    std::string id = j["id"];
    repo::Manifest m = Load(id);
    ASSERT_TRUE(m.physical);
    EXPECT_TRUE(m.physical->from_standby);
    std::set<std::string> names;
    for (const auto& f : m.files) names.insert(f.name);
    EXPECT_FALSE(names.count("pgdata/standby.signal")) << id;  // the restore must not come back as a standby
    auto r = RestorePhysicalAndStart(SharedRepo(), "repl_standby_restored_" + std::string(j["source"]), {id});
    ASSERT_GT(r.pid, 0) << r.report.dump();
    EXPECT_TRUE(r.report["started"]["promoted"].get<bool>());
    EXPECT_EQ(PermanentTableFingerprints(RestoredConninfo(SharedSource(), r.port, db)), expected) << id;
    StopServer(r.pid);
    stdfs::remove_all(r.pgdata);
  }
  standby->Signal(SIGINT);
  standby->Wait();
}

}  // namespace pgk::test
