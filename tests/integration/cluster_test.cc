// The embedded cluster: lifecycle, reuse, file modes, and no server left behind when
// pgkeeper is interrupted or killed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/process.h"
#include "harness/harness.h"

namespace pgk::test {

namespace {

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

bool WaitFor(const std::function<bool()>& cond, int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cond();
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

uid_t OwnerOfProcess(pid_t pid) {
  struct stat st {};
  ::stat(("/proc/" + std::to_string(pid)).c_str(), &st);
  return st.st_uid;
}

// Any process whose command line mentions `needle` (the cluster's data directory).
bool AnyProcessMentions(const std::string& needle) {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream in(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (auto& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(needle) != std::string::npos && cmd.find("postgres") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST(LocalCluster, StartsSurvivesSecondStartAndStops) {
  std::string dir = TempPath("lifecycle");
  auto a = pg::LocalCluster::Open({.dir = dir});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE((*a)->Init().ok());
  ASSERT_TRUE((*a)->Start().ok());
  EXPECT_FALSE((*a)->already_running());
  auto pid = (*a)->RunningPid();
  ASSERT_TRUE(pid.has_value());

  // A second Start, from another handle on the same directory, reuses the server.
  auto b = pg::LocalCluster::Open({.dir = dir});
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->Start().ok());
  EXPECT_TRUE((*b)->already_running());
  EXPECT_EQ((*b)->port(), (*a)->port());
  EXPECT_EQ((*b)->RunningPid(), pid);
  // And the same handle again is a no-op too.
  ASSERT_TRUE((*a)->Start().ok());
  EXPECT_TRUE((*a)->already_running());

  auto conn = pg::Connection::Connect((*a)->ConnInfo());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(*conn->QueryValue("SHOW data_checksums"), "on");
  EXPECT_EQ(*conn->QueryValue("SHOW listen_addresses"), "127.0.0.1");
  if (IsRoot()) {
    auto pg_user = LookupUser("postgres");
    ASSERT_TRUE(pg_user.ok());
    EXPECT_EQ(OwnerOfProcess(*pid), pg_user->uid) << "the server must not run as root";
  }

  ASSERT_TRUE((*a)->Stop().ok());
  EXPECT_FALSE((*a)->RunningPid().has_value());
  EXPECT_TRUE(WaitFor([&] { return !Alive(*pid); }, 10));
  // Restart keeps the data and the port.
  int port = (*a)->port();
  ASSERT_TRUE((*a)->Start().ok());
  EXPECT_EQ((*a)->port(), port);
  ASSERT_TRUE((*a)->Stop().ok());
}

TEST(LocalCluster, PrivateFileModes) {
  std::string dir = TempPath("modes");
  auto c = pg::LocalCluster::Open({.dir = dir});
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Init().ok());
  EXPECT_EQ(ModeOf(dir + "/cluster.json"), 0600u);
  EXPECT_EQ(ModeOf(dir + "/pgpass"), 0600u);
  EXPECT_EQ(ModeOf(dir + "/data"), 0700u);
  // 0711 under root so that the postgres user can pass through; 0700 otherwise.
  EXPECT_EQ(ModeOf(dir), IsRoot() ? 0711u : 0700u);
  std::ifstream state(dir + "/cluster.json");
  std::string text((std::istreambuf_iterator<char>(state)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"port\""), std::string::npos);
}

TEST(LocalCommand, StartTwiceStatusStopDestroy) {
  std::string dir = TempPath("cli_local");
  auto r = RunCli({"local", "start", "--dir", dir});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("started"), std::string::npos);
  r = RunCli({"local", "start", "--dir", dir, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.Json()["already_running"], true);
  r = RunCli({"local", "status", "--dir", dir, "--json"});
  EXPECT_EQ(r.exit_code, 0);
  auto status = r.Json();
  EXPECT_EQ(status["running"], true);
  pid_t pid = status["pid"].get<pid_t>();
  EXPECT_NE(status["url"].get<std::string>().find("postgres@127.0.0.1:"), std::string::npos);

  // The printed URL plus the pgpass file is all a user needs to connect.
  r = RunCli({"check", "--db", status["url"], "--json"}, {{"PGPASSFILE", status["pgpass"]}});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  r = RunCli({"local", "stop", "--dir", dir});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(WaitFor([&] { return !Alive(pid); }, 10));
  r = RunCli({"local", "status", "--dir", dir});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("stopped"), std::string::npos);

  // Destroy needs confirmation; without a terminal and without --yes it is refused.
  r = RunCli({"local", "destroy", "--dir", dir});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--yes"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir + "/data/PG_VERSION"));
  r = RunCli({"local", "destroy", "--dir", dir, "--yes"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir));
}

// Runs `pgkeeper demo` long enough to interrupt it with `sig` mid-workload, then checks
// that no server process is left behind.
void InterruptDemo(int sig) {
  std::string dir = TempPath(sig == SIGKILL ? "demo_kill" : "demo_sigint");
  std::string log = TempPath(sig == SIGKILL ? "demo_kill.log" : "demo_sigint.log");
  ProcessOptions po{.argv = {BinaryPath(), "demo", "--dir", dir, "--positions", "200", "--workload-seconds", "120"},
                    .unset_env = {"DATABASE_URL", "PGHOST", "PGPORT"}};
  po.output_file = log;
  auto p = Process::Spawn(po);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto read_log = [&] {
    std::ifstream in(log);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  ASSERT_TRUE(WaitFor([&] { return read_log().find("3. data") != std::string::npos; }, 60)) << read_log();
  auto cluster = pg::LocalCluster::Open({.dir = dir, .detached = true});
  ASSERT_TRUE(cluster.ok());
  auto pid = (*cluster)->RunningPid();
  ASSERT_TRUE(pid.has_value());

  p->Signal(sig);
  int code = p->Wait();
  EXPECT_EQ(code, 128 + sig);
  EXPECT_TRUE(WaitFor([&] { return !Alive(*pid); }, 30)) << "postgres (pid " << *pid << ") survived";
  EXPECT_TRUE(WaitFor([&] { return !AnyProcessMentions(dir); }, 10));
  EXPECT_FALSE((*cluster)->RunningPid().has_value());
  if (sig == SIGINT) {
    EXPECT_NE(read_log().find("interrupted"), std::string::npos) << read_log();
  }
}

TEST(LocalCluster, NoServerLeftAfterSigint) { InterruptDemo(SIGINT); }
TEST(LocalCluster, NoServerLeftAfterKill9) { InterruptDemo(SIGKILL); }

TEST(LocalCluster, DemoKeepLeavesItRunning) {
  std::string dir = TempPath("demo_keep");
  auto r = RunCli({"demo", "--dir", dir, "--keep", "--positions", "100", "--workload-seconds", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("PGPASSFILE="), std::string::npos);
  auto cluster = pg::LocalCluster::Open({.dir = dir, .detached = true});
  ASSERT_TRUE(cluster.ok());
  EXPECT_TRUE((*cluster)->RunningPid().has_value());
  // A second demo reuses the running cluster.
  r = RunCli({"demo", "--dir", dir, "--keep", "--positions", "100", "--workload-seconds", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("reused the running"), std::string::npos) << r.out;
  EXPECT_EQ(RunCli({"local", "destroy", "--dir", dir, "--yes"}).exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace pgk::test

namespace pgk::test {

// Under root, a cluster directory the postgres user cannot reach (e.g. under /root) still
// works: PGDATA moves to /var/tmp/pgkeeper-clusters and data/ links to it.
TEST(LocalCluster, UnreachableDirectoryUnderRoot) {
  if (!IsRoot()) GTEST_SKIP() << "only meaningful as root";
  std::string priv = TempPath("private_parent");
  std::filesystem::create_directories(priv);
  ::chmod(priv.c_str(), 0700);
  std::string dir = priv + "/cluster";
  auto c = pg::LocalCluster::Open({.dir = dir});
  ASSERT_TRUE(c.ok());
  Status s = (*c)->Init();
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = (*c)->Start();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(std::filesystem::is_symlink(dir + "/data"));
  auto target = std::filesystem::read_symlink(dir + "/data");
  EXPECT_EQ(target.string().rfind("/var/tmp/pgkeeper-clusters/", 0), 0u) << target;
  auto conn = pg::Connection::Connect((*c)->ConnInfo());
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE((*c)->Destroy().ok());
  EXPECT_FALSE(std::filesystem::exists(target));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace pgk::test
