// Physical backups under faults and across timelines, each test on an archiving
// cluster and repository of its own (a second timeline in a shared archive would change
// what "the latest point" means for every other test):
//   - kill -9 of `backup --type physical` at random moments never leaves a listed backup
//     that fails verify or does not restore, and the server is never left in backup mode;
//   - restore, promote, keep writing on the new timeline, then a point-in-time restore
//     across that timeline switch holds exactly what was committed at the target.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "common/process.h"
#include "harness/archiving.h"
#include "harness/harness.h"
#include "pg/local_cluster.h"
#include "repo/repository.h"

namespace pgk::test {

namespace {

namespace stdfs = std::filesystem;

struct Archiving {
  std::string repo;
  std::unique_ptr<pg::LocalCluster> cluster;
};

Archiving MakeArchiving(const std::string& name) {
  Archiving a;
  a.repo = ServerOwnedDir(name + "-repo");
  a.cluster = StartArchivingCluster(name + "-src", a.repo);
  return a;
}

std::vector<std::string> BackupArgs(const Archiving& a) {
  return {"backup", "--type", "physical", "--db", a.cluster->ConnInfo(), "--repo", a.repo, "--json"};
}

void ExpectEveryListedBackupVerifies(const std::string& repo) {
  auto r = repo::Repository::Open({.url = repo});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto listed = (*r)->ListBackups();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  for (const auto& m : *listed) {
    auto v = RunCli({"verify", m.id, "--repo", repo});
    EXPECT_EQ(v.exit_code, 0) << m.id << ": " << v.All();
  }
}

struct Started {
  std::string pgdata;
  int port = 0;
  pid_t pid = 0;
  nlohmann::json report;
};

Started RestoreAndStart(const Archiving& a, const std::string& name, const std::vector<std::string>& extra) {
  Started s;
  s.pgdata = TempPath(name);
  s.port = *pg::FindFreePort();
  std::vector<std::string> args = {"restore", "--repo", a.repo, "--pgdata", s.pgdata, "--start",
                                   "--port", std::to_string(s.port), "--start-timeout", "120", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = RunCli(args);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  if (r.exit_code != 0) return s;
  s.report = r.Json();
  if (s.report["started"].is_object()) s.pid = s.report["started"]["pid"].get<pid_t>();
  return s;
}

}  // namespace

TEST(PhysicalFaults, KillNineNeverLeavesABrokenListedBackup) {
  Archiving a = MakeArchiving("kill");
  auto conn = MustConnect(a.cluster->ConnInfo());
  ASSERT_TRUE(conn.Exec("CREATE TABLE ballast (id int PRIMARY KEY, pad text);"
                        "INSERT INTO ballast SELECT g, md5(g::text) FROM generate_series(1, 200000) g")
                  .ok());
  std::mt19937 rng(std::random_device{}());
  for (int i = 0; i < 8; ++i) {
    ProcessOptions po{.argv = {BinaryPath()}, .cwd = "/"};
    for (const auto& arg : BackupArgs(a)) po.argv.push_back(arg);
    po.argv.push_back("--mode");
    po.argv.push_back(i % 2 == 0 ? "full" : "incr");
    po.output_file = TempPath("kill-backup.log");
    if (IsRoot()) po.run_as = *LookupUser("postgres");
    auto p = Process::Spawn(po);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 2500));
    p->Signal(SIGKILL);
    p->Wait();
    ExpectEveryListedBackupVerifies(a.repo);
  }
  // The killed runs' sessions ended, and with them their (non-exclusive) backups: the
  // next backup starts at once and completes.
  ASSERT_TRUE(conn.Exec("UPDATE ballast SET pad = 'after' WHERE id <= 10").ok());
  auto expected = PermanentTableFingerprints(a.cluster->ConnInfo("postgres"));
  auto b = RunCliAsServerUser(BackupArgs(a));
  ASSERT_EQ(b.exit_code, 0) << b.All();
  ExpectEveryListedBackupVerifies(a.repo);
  // The newest listed backup restores to exactly the data at its end.
  auto s = RestoreAndStart(a, "kill-restored", {"--immediate"});
  ASSERT_GT(s.pid, 0) << s.report.dump();
  EXPECT_EQ(s.report["backup"], b.Json()["id"]);
  EXPECT_EQ(PermanentTableFingerprints(RestoredConninfo(*a.cluster, s.port, "postgres")), expected);
  StopServer(s.pid);
  stdfs::remove_all(s.pgdata);
  // expire removes the debris of the killed runs, and nothing that is listed.
  auto before = repo::Repository::Open({.url = a.repo});
  size_t listed = (*before)->ListBackups()->size();
  auto e = RunCliAsServerUser({"expire", "--repo", a.repo, "--unfinished-grace", "0", "--json"});
  ASSERT_EQ(e.exit_code, 0) << e.All();
  auto after = repo::Repository::Open({.url = a.repo});
  EXPECT_TRUE((*after)->ListUnfinished()->empty());
  EXPECT_EQ((*after)->ListBackups()->size(), listed);
}

TEST(PhysicalFaults, PointInTimeRestoreAcrossATimelineSwitch) {
  Archiving a = MakeArchiving("tli");
  auto conn = MustConnect(a.cluster->ConnInfo());
  ASSERT_TRUE(conn.Exec("CREATE TABLE events (id text PRIMARY KEY)").ok());
  auto b = RunCliAsServerUser(BackupArgs(a));
  ASSERT_EQ(b.exit_code, 0) << b.All();
  ASSERT_TRUE(conn.Exec("INSERT INTO events VALUES ('a')").ok());
  SwitchAndWaitArchived(conn);

  // The disaster drill: restore to the end of the archive and promote (timeline 2), then
  // run that server as the new primary, archiving into the same repository.
  std::string promoted = TempPath("tli-promoted");
  auto r = RunCli({"restore", "--repo", a.repo, "--pgdata", promoted, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  int port = *pg::FindFreePort();
  std::string archive = "'" + BinaryPath() + "' wal-push %p --repo '" + a.repo + "'";
  std::string opts = "-p " + std::to_string(port) +
                     " -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c archive_mode=on"
                     " -c wal_level=replica -c \"archive_command=" + archive + "\"";
  auto pg_ctl = a.cluster->binaries().Path("pg_ctl");
  auto started = RunAsServerUser({pg_ctl, "-D", promoted, "-l", promoted + "/server.log", "-o", opts, "-w", "-t",
                                  "120", "start"});
  ASSERT_EQ(started.exit_code, 0) << started.output;
  std::string primary = RestoredConninfo(*a.cluster, port, "postgres");
  auto p = MustConnect(primary);
  for (int i = 0; i < 600 && ValueOf(p, "SELECT pg_is_in_recovery()") != "f"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(ValueOf(p, "SELECT pg_is_in_recovery()"), "f");
  ASSERT_EQ(ValueOf(p, "SELECT timeline_id FROM pg_control_checkpoint()"), "2");
  ASSERT_TRUE(p.Exec("INSERT INTO events VALUES ('b')").ok());
  std::string target = ValueOf(p, "SELECT clock_timestamp()");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(p.Exec("INSERT INTO events VALUES ('c')").ok());
  SwitchAndWaitArchived(p);
  auto stopped = RunAsServerUser({pg_ctl, "-D", promoted, "-m", "fast", "-w", "stop"});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.output;

  // PITR to a moment on timeline 2, from the base backup taken on timeline 1.
  auto s = RestoreAndStart(a, "tli-pitr", {"--target-time", target});
  ASSERT_GT(s.pid, 0) << s.report.dump();
  EXPECT_EQ(s.report["backup"], b.Json()["id"]);
  EXPECT_EQ(s.report["started"]["timeline"], 3) << s.report.dump();
  auto restored = MustConnect(RestoredConninfo(*a.cluster, s.port, "postgres"));
  EXPECT_EQ(ValueOf(restored, "SELECT string_agg(id, ',' ORDER BY id) FROM events"), "a,b");
  StopServer(s.pid);
  // And the end of the archive on timeline 2 holds everything.
  stdfs::remove_all(s.pgdata);
  auto latest = RestoreAndStart(a, "tli-latest", {});
  ASSERT_GT(latest.pid, 0) << latest.report.dump();
  auto all = MustConnect(RestoredConninfo(*a.cluster, latest.port, "postgres"));
  EXPECT_EQ(ValueOf(all, "SELECT string_agg(id, ',' ORDER BY id) FROM events"), "a,b,c");
  StopServer(latest.pid);
  stdfs::remove_all(latest.pgdata);
  stdfs::remove_all(promoted);
}

}  // namespace pgk::test
