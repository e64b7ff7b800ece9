// `dr --method physical`, end to end on a real archiving cluster: every scenario restores
// a physical backup plus WAL into a side data directory started on a free port, and the
// test reads the result there.
//   deletion    point-in-time recovery to just before the deletion, lost rows exported;
//   corruption  a damaged table file on the live server, recovered to the archive's end;
//   server-lost the live server unreachable: the repository alone brings the data back;
//   security    recovery to before the intrusion, passwords rotated on the clean server.
// Its own binary: the source cluster archives WAL into the repository.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "harness/archiving.h"
#include "harness/harness.h"
#include "pg/conninfo.h"
#include "pg/local_cluster.h"

namespace pgk::test {

namespace {

// A new database on the source with one table `orders (id, what)` holding `rows` rows.
pg::Connection OrdersDb(const std::string& db, int rows) {
  EXPECT_TRUE(SharedSource().CreateDatabase(db).ok());
  auto conn = MustConnect(SharedSource().ConnInfo(db));
  EXPECT_TRUE(conn.Exec("CREATE TABLE orders (id int PRIMARY KEY, what text);"
                        "INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, " +
                        std::to_string(rows) + ") g")
                  .ok());
  return conn;
}

// The physical backup runs as the server's user, who owns the repository.
void BackUp() {
  auto r =
      RunCliAsServerUser({"backup", "--type", "physical", "--db", SharedSource().ConnInfo(), "--repo", SharedRepo()});
  ASSERT_EQ(r.exit_code, 0) << r.All();
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Runs dr with --json and --yes, returns its document; the restored server is stopped
// when the returned guard goes (every scenario starts one).
struct DrOutcome {
  nlohmann::json json;
  std::string all;
  int exit_code = 0;
  pid_t server = 0;
  ~DrOutcome() {
    if (server > 0) StopServer(server);
  }
};

std::unique_ptr<DrOutcome> RunDr(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), "dr");
  args.insert(args.end(), {"--repo", SharedRepo(), "--method", "physical", "--yes", "--json"});
  auto r = RunCli(args, env);
  auto out = std::make_unique<DrOutcome>();
  out->exit_code = r.exit_code;
  out->all = r.All();
  try {
    out->json = r.Json();
  } catch (...) {
    out->json = nullptr;
  }
  if (out->json.is_object() && out->json.contains("steps")) {
    for (const auto& s : out->json["steps"]) {
      if (s["kind"] == "command" && s["result"].is_object() && s["result"]["started"].is_object()) {
        out->server = s["result"]["started"]["pid"].get<pid_t>();
      }
    }
  }
  return out;
}

int FreePort() {
  auto port = pg::FindFreePort();
  EXPECT_TRUE(port.ok());
  return port.ok() ? *port : 0;
}

void ExpectVerified(const nlohmann::json& j) {
  ASSERT_TRUE(j.is_object());
  EXPECT_TRUE(j["ok"].get<bool>()) << j.dump(2);
  EXPECT_EQ(j["plan"]["method"], "physical");
  ASSERT_TRUE(j["verification"].is_array());
  for (const auto& c : j["verification"]) EXPECT_TRUE(c["ok"].get<bool>()) << c.dump();
}

}  // namespace

TEST(DrPhysical, DeletionRecoversToJustBeforeItOnASidePortAndExportsTheRows) {
  auto conn = OrdersDb("shop", 0);
  BackUp();
  // Written after the backup: only point-in-time recovery brings these back.
  ASSERT_TRUE(conn.Exec("INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 50) g").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string before = ValueOf(conn, "SELECT clock_timestamp()");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(conn.Exec("DELETE FROM orders WHERE id > 40").ok());
  SwitchAndWaitArchived(conn);

  std::string exports = TempPath("dr-physical-export");
  auto dr = RunDr({"--db", SharedSource().ConnInfo("shop"), "--scenario", "deletion", "--before", before, "--table",
                   "public.orders", "--pgdata", TempPath("dr-side-pgdata"), "--port", std::to_string(FreePort()),
                   "--export-dir", exports});
  ASSERT_EQ(dr->exit_code, 0) << dr->all;
  ExpectVerified(dr->json);
  // Recovered to the last commit before the deletion: the RPO is the gap to it.
  EXPECT_LT(dr->json["rpo_seconds"].get<double>(), 5.0) << dr->json.dump(2);
  auto lines = ReadLines(exports + "/public.orders.csv");
  ASSERT_EQ(lines.size(), 11u) << dr->json.dump(2);
  EXPECT_EQ(lines[0], "id,what");
  EXPECT_EQ(lines[1], "41,order 41");
  EXPECT_EQ(lines[10], "50,order 50");
}

TEST(DrPhysical, CorruptionBringsBackEveryArchivedCommitOnASideServer) {
  auto conn = OrdersDb("ledger", 1000);
  BackUp();
  // Committed after the backup: the WAL archive carries them to the restored server.
  ASSERT_TRUE(conn.Exec("INSERT INTO orders SELECT g, 'late ' || g FROM generate_series(1001, 1200) g").ok());
  std::string file = ValueOf(conn, "SELECT current_setting('data_directory') || '/' || pg_relation_filepath('orders')");
  ASSERT_TRUE(conn.Exec("CHECKPOINT").ok());
  SwitchAndWaitArchived(conn);

  // Damage the live table's first page on disk, then make the server read it from there.
  {
    int fd = ::open(file.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0) << file;
    std::string junk(512, '\x5a');
    ASSERT_EQ(::pwrite(fd, junk.data(), junk.size(), 1024), 512);
    ::close(fd);
  }
  ASSERT_TRUE(SharedSource().Stop().ok());
  ASSERT_TRUE(SharedSource().Start().ok());
  auto damaged = MustConnect(SharedSource().ConnInfo("ledger"));
  ASSERT_NE(ValueOf(damaged, "SELECT count(*) FROM orders").find("ERROR"), std::string::npos)
      << "the damage did not show: the test would prove nothing";

  int port = FreePort();
  auto dr = RunDr({"--db", SharedSource().ConnInfo("ledger"), "--scenario", "corruption", "--pgdata",
                   TempPath("dr-corruption-pgdata"), "--port", std::to_string(port)});
  ASSERT_EQ(dr->exit_code, 0) << dr->all;
  ExpectVerified(dr->json);
  EXPECT_FALSE(dr->json["plan"]["replaces_live_database"].get<bool>());  // the damaged one stays for analysis
  auto restored = MustConnect(RestoredConninfo(SharedSource(), port, "ledger"));
  EXPECT_EQ(ValueOf(restored, "SELECT count(*) || ' ' || max(id) FROM orders"), "1200 1200");
  EXPECT_EQ(ValueOf(restored, "SELECT what FROM orders WHERE id = 1"), "order 1");
  // Put the live table right again for the other tests of this binary.
  ASSERT_TRUE(damaged.Exec("DROP TABLE orders").ok());
}

TEST(DrPhysical, ServerLostRestoresFromTheRepositoryAloneOntoThisHost) {
  auto conn = OrdersDb("inventory", 300);
  BackUp();
  ASSERT_TRUE(conn.Exec("UPDATE orders SET what = 'shipped' WHERE id <= 100").ok());
  SwitchAndWaitArchived(conn);
  auto expected = PermanentTableFingerprints(SharedSource().ConnInfo("inventory"));

  // The lost server: same credentials, nothing listening. dr must not need it.
  auto lost = pg::ParseConninfo(SharedSource().ConnInfo("inventory"));
  ASSERT_TRUE(lost.ok());
  (*lost)["port"] = std::to_string(FreePort());
  (*lost)["connect_timeout"] = "2";
  int port = FreePort();
  auto dr = RunDr({"--db", pg::BuildConninfo(*lost), "--scenario", "server-lost", "--pgdata",
                   TempPath("dr-lost-pgdata"), "--port", std::to_string(port)});
  ASSERT_EQ(dr->exit_code, 0) << dr->all;
  ExpectVerified(dr->json);
  EXPECT_EQ(PermanentTableFingerprints(RestoredConninfo(SharedSource(), port, "inventory")), expected);
  EXPECT_LT(dr->json["rpo_seconds"].get<double>(), 60.0) << dr->json.dump(2);
}

TEST(DrPhysical, SecurityRecoversToBeforeTheIntrusionAndRotatesPasswordsThere) {
  auto conn = OrdersDb("payments", 100);
  ASSERT_TRUE(conn.Exec("CREATE ROLE clerk LOGIN PASSWORD 'old-secret'; GRANT SELECT ON orders TO clerk").ok());
  BackUp();
  ASSERT_TRUE(conn.Exec("INSERT INTO orders VALUES (101, 'legitimate')").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string before = ValueOf(conn, "SELECT clock_timestamp()");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // The intrusion: a backdoor role and tampered rows.
  ASSERT_TRUE(conn.Exec("CREATE ROLE backdoor LOGIN SUPERUSER PASSWORD 'x'; UPDATE orders SET what = 'stolen'").ok());
  SwitchAndWaitArchived(conn);

  std::string passwords = MakeFiles("dr-passwords", {{"pw.txt", "clerk:n3w-s3cret-value\n"}}) + "/pw.txt";
  std::filesystem::permissions(passwords, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace);
  int port = FreePort();
  auto dr =
      RunDr({"--db", SharedSource().ConnInfo("payments"), "--scenario", "security", "--before", before, "--pgdata",
             TempPath("dr-security-pgdata"), "--port", std::to_string(port), "--passwords-file", passwords});
  ASSERT_EQ(dr->exit_code, 0) << dr->all;
  ExpectVerified(dr->json);
  EXPECT_EQ(dr->all.find("n3w-s3cret-value"), std::string::npos) << "a password was echoed";
  auto restored = MustConnect(RestoredConninfo(SharedSource(), port, "payments"));
  EXPECT_EQ(ValueOf(restored, "SELECT count(*) FROM pg_roles WHERE rolname = 'backdoor'"), "0");
  EXPECT_EQ(ValueOf(restored, "SELECT count(*) || ' ' || count(*) FILTER (WHERE what = 'stolen') FROM orders"),
            "101 0");
  auto clerk = [&](const std::string& password) {
    return pg::BuildConninfo({{"host", "127.0.0.1"},
                              {"port", std::to_string(port)},
                              {"user", "clerk"},
                              {"password", password},
                              {"dbname", "payments"},
                              {"connect_timeout", "5"}});
  };
  auto fresh = pg::Connection::Connect(clerk("n3w-s3cret-value"));
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(ValueOf(*fresh, "SELECT count(*) FROM orders"), "101");
  EXPECT_FALSE(pg::Connection::Connect(clerk("old-secret")).ok());
  // The intruded server is left as it was: evidence.
  EXPECT_EQ(ValueOf(conn, "SELECT count(*) FROM pg_roles WHERE rolname = 'backdoor'"), "1");
}

// On a terminal, a plan that can only be physical asks for the restored server's data
// directory and port (a wrong port is asked again), shows them in the plan, and runs
// nothing when the operator does not confirm.
TEST(DrPhysical, OnATerminalItAsksForTheDataDirectoryAndPortAndRunsNothingUnconfirmed) {
  auto conn = OrdersDb("asked", 10);
  BackUp();
  std::string pgdata = TempPath("dr-asked-pgdata");
  std::string port = std::to_string(FreePort());
  auto r = RunCliOnTerminal({"dr", "--db", SharedSource().ConnInfo("asked"), "--repo", SharedRepo()},
                            "corruption\n\n" + pgdata + "\n70000\n" + port + "\nno\n");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("New or empty data directory"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("an answer is needed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("a port is a number from 1 to 65535"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--pgdata " + pgdata), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--port " + port), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not confirmed"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(pgdata)) << "a step ran without confirmation";
}

}  // namespace pgk::test
