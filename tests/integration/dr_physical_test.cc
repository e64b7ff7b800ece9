// `dr --scenario deletion --method physical`: point-in-time recovery into a side data
// directory started on a free port, and the export of the deleted rows from it. Its own
// binary: the source cluster archives WAL into the repository (as physical_test.cc does).
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
#include "pg/local_cluster.h"

namespace pgk::test {

namespace {

const std::string& Repo() {
  static const std::string repo = ServerOwnedDir("dr-physical-repo");
  return repo;
}

std::string Value(pg::Connection& c, const std::string& sql) {
  auto v = c.QueryValue(sql);
  return v.ok() ? *v : "ERROR: " + v.status().message();
}

pg::LocalCluster& Source() {
  static std::unique_ptr<pg::LocalCluster> cluster = [] {
    std::string archive = "'" + BinaryPath() + "' wal-push %p --repo '" + Repo() + "'";
    auto c =
        pg::LocalCluster::Open({.dir = TempPath("dr-physical-src"),
                                .settings = {"archive_mode=on", "wal_level=replica", "archive_command=" + archive}});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    Status s = (*c)->Init();
    if (s.ok()) s = (*c)->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto conn = pg::Connection::Connect((*c)->ConnInfo());
    EXPECT_TRUE(conn.ok());
    if (conn.ok()) SwitchAndWaitArchived(*conn);
    return std::move(c).value();
  }();
  return *cluster;
}

// The physical backup runs as the server's user, who owns the repository.
int BackupAsServerUser() {
  ProcessOptions po;
  po.argv = {BinaryPath(), "backup", "--type", "physical", "--db", Source().ConnInfo(), "--repo", Repo()};
  po.unset_env = {"DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"};
  po.cwd = "/";
  po.capture = true;
  if (IsRoot()) {
    auto pg = LookupUser("postgres");
    if (pg.ok()) po.run_as = *pg;
  }
  auto r = RunProcess(po);
  EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->output : r.status().ToString());
  return r.ok() ? r->exit_code : -1;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST(DrPhysical, DeletionRecoversToJustBeforeItOnASidePortAndExportsTheRows) {
  ASSERT_TRUE(Source().CreateDatabase("shop").ok());
  auto conn = pg::Connection::Connect(Source().ConnInfo("shop"));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE(conn->Exec("CREATE TABLE orders (id int PRIMARY KEY, what text)").ok());
  ASSERT_EQ(BackupAsServerUser(), 0);
  // Written after the backup: only point-in-time recovery brings these back.
  ASSERT_TRUE(conn->Exec("INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 50) g").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string before = Value(*conn, "SELECT clock_timestamp()");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(conn->Exec("DELETE FROM orders WHERE id > 40").ok());
  SwitchAndWaitArchived(*conn);

  auto port = pg::FindFreePort();
  ASSERT_TRUE(port.ok());
  std::string side = TempPath("dr-side-pgdata");
  std::string exports = TempPath("dr-physical-export");
  auto r = RunCli({"dr",
                   "--db",
                   Source().ConnInfo("shop"),
                   "--repo",
                   Repo(),
                   "--scenario",
                   "deletion",
                   "--method",
                   "physical",
                   "--before",
                   before,
                   "--table",
                   "public.orders",
                   "--pgdata",
                   side,
                   "--port",
                   std::to_string(*port),
                   "--export-dir",
                   exports,
                   "--yes",
                   "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto j = r.Json();
  pid_t pid = 0;
  for (const auto& s : j["steps"]) {
    if (s["kind"] == "command" && s["result"].is_object() && s["result"]["started"].is_object()) {
      pid = s["result"]["started"]["pid"].get<pid_t>();
    }
  }
  EXPECT_TRUE(j["ok"].get<bool>()) << j.dump(2);
  EXPECT_EQ(j["plan"]["method"], "physical");
  // Recovered to the last commit before the deletion: the RPO is the gap to it.
  EXPECT_LT(j["rpo_seconds"].get<double>(), 5.0) << j.dump(2);
  auto lines = ReadLines(exports + "/public.orders.csv");
  ASSERT_EQ(lines.size(), 11u) << j.dump(2);
  EXPECT_EQ(lines[0], "id,what");
  EXPECT_EQ(lines[1], "41,order 41");
  EXPECT_EQ(lines[10], "50,order 50");
  if (pid > 0) {
    ::kill(pid, SIGINT);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (::kill(pid, 0) == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

}  // namespace pgk::test
