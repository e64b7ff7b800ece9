// The CLI frame: help, version, exit codes, and the connection errors a user meets first.
#include <gtest/gtest.h>

#include <fstream>

#include "harness/harness.h"
#include "pg/local_cluster.h"

namespace pgk::test {

TEST(Cli, HelpOnEveryLevel) {
  auto r = RunCli({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* cmd : {"check", "demo", "local", "workload"}) EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
  for (const char* cmd : {"check", "demo", "local", "workload"}) {
    auto sub = RunCli({cmd, "--help"});
    EXPECT_EQ(sub.exit_code, 0) << cmd;
    EXPECT_NE(sub.out.find("Usage"), std::string::npos) << cmd << sub.out;
  }
  EXPECT_EQ(RunCli({"local", "start", "--help"}).exit_code, 0);
}

TEST(Cli, Version) {
  auto r = RunCli({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("pgkeeper "), std::string::npos);
}

TEST(Cli, NoCommandIsUsageError) {
  auto r = RunCli({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("a command is required"), std::string::npos) << r.err;
}

TEST(Cli, UnknownCommandSuggestsTheClosest) {
  auto r = RunCli({"chek"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("did you mean 'check'"), std::string::npos) << r.err;
}

TEST(Cli, UnknownOptionIsUsageError) {
  auto r = RunCli({"check", "--exactly"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("error:"), std::string::npos);
}

TEST(Cli, MalformedConfigIsBadInput) {
  std::string dir = TempPath("badconfig");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/pgkeeper.toml") << "[database\nurl = 1\n";
  auto r = RunCli({"check"}, {}, dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("pgkeeper.toml:1"), std::string::npos) << r.err;
}

TEST(Cli, UnknownConfigKeyIsBadInput) {
  std::string path = TempPath("typo.toml");
  std::ofstream(path) << "[database]\nulr = \"postgresql://x/y\"\n";
  auto r = RunCli({"--config", path, "check", "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("did you mean 'database.url'"), std::string::npos) << r.err;
  // --json still gives scripts a document.
  EXPECT_EQ(r.Json()["error"]["exit_code"], 2);
}

TEST(Cli, MissingExplicitConfigIsBadInput) {
  auto r = RunCli({"--config", "/nonexistent/pgkeeper.toml", "check"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("config file not found"), std::string::npos);
}

TEST(ConnectionErrors, WrongPasswordExit3WithoutLeakingIt) {
  std::string db = CreateDatabase("wrongpw");
  std::string secret = "Wr0ngPassw0rd";
  std::string url = "postgresql://postgres:" + secret + "@127.0.0.1:" + std::to_string(Cluster().port()) + "/" + db;
  for (bool json : {false, true}) {
    std::vector<std::string> args = {"check", "--db", url};
    if (json) args.push_back("--json");
    auto r = RunCli(args);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("password authentication failed for user postgres"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("postgres:***@"), std::string::npos) << r.err;
    EXPECT_EQ(r.All().find(secret), std::string::npos) << r.All();
    if (json) {
      EXPECT_EQ(r.Json()["error"]["exit_code"], 3);
    }
  }
  // The same through DATABASE_URL and through PGPASSWORD.
  auto r = RunCli({"check"}, {{"DATABASE_URL", url}});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.All().find(secret), std::string::npos);
  r = RunCli({"check", "-v"}, {{"PGHOST", "127.0.0.1"}, {"PGPORT", std::to_string(Cluster().port())},
                               {"PGUSER", "postgres"}, {"PGPASSWORD", secret}});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.All().find(secret), std::string::npos) << r.All();
}

TEST(ConnectionErrors, ClosedPortSaysNotListening) {
  auto port = pg::FindFreePort();
  ASSERT_TRUE(port.ok());
  auto r = RunCli({"check", "--db", "postgresql://u:topsecret@127.0.0.1:" + std::to_string(*port) + "/db"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("not listening on 127.0.0.1:" + std::to_string(*port)), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint:"), std::string::npos);
  EXPECT_EQ(r.All().find("topsecret"), std::string::npos);
}

TEST(ConnectionErrors, BadUrlIsBadInput) {
  auto r = RunCli({"check", "--db", "postgresql://u:topsecret@[::1/db"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.All().find("topsecret"), std::string::npos) << r.All();
  r = RunCli({"check", "--db", "host=localhost bogus"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("invalid connection string from --db"), std::string::npos) << r.err;
  r = RunCli({"check"}, {{"DATABASE_URL", "postgresql://x:topsecret@[::1/db"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("DATABASE_URL"), std::string::npos) << r.err;
}

TEST(ConnectionErrors, MissingDatabaseNamesIt) {
  auto r = RunCli({"check", "--db", UrlWithPassword("no_such_db_here")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("database no_such_db_here does not exist"), std::string::npos) << r.err;
  EXPECT_EQ(r.All().find(Password()), std::string::npos);
}

}  // namespace pgk::test
