// `clean --all-databases`: this binary has its own cluster, so dropping every user
// database on it harms no other test.
#include <gtest/gtest.h>

#include "harness/harness.h"

namespace pgk::test {

namespace {

bool Exists(const std::string& db) {
  return QueryValue("postgres", "SELECT count(*) FROM pg_database WHERE datname = '" + db + "'") == "1";
}

std::vector<std::string> Clean(const std::vector<std::string>& extra, CliResult* r,
                               const std::string& server = "postgres") {
  std::vector<std::string> args = {"clean", "--db", UrlWithPassword(server)};
  args.insert(args.end(), extra.begin(), extra.end());
  *r = RunCli(args);
  return args;
}

}  // namespace

TEST(Clean, NeedsAllDatabasesConfirmationAndNoSessions) {
  std::string a = CreateDatabase("clean_a");
  std::string b = CreateDatabase("clean_b");
  CliResult r;
  Clean({}, &r);
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("--all-databases"), std::string::npos) << r.err;

  // Dry run: lists both, drops nothing.
  Clean({"--all-databases", "--dry-run", "--json"}, &r);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto j = r.Json();
  EXPECT_TRUE(j["dry_run"].get<bool>());
  std::string listed = j["databases"].dump();
  EXPECT_NE(listed.find(a), std::string::npos) << listed;
  EXPECT_NE(listed.find(b), std::string::npos) << listed;
  EXPECT_EQ(listed.find("\"postgres\""), std::string::npos) << listed;
  EXPECT_TRUE(j["dropped"].empty());
  EXPECT_TRUE(Exists(a) && Exists(b));

  // Without --yes and without a terminal: refused, nothing dropped.
  Clean({"--all-databases"}, &r);
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("needs confirmation"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find(a), std::string::npos) << "lists what it would drop: " << r.out;
  EXPECT_TRUE(Exists(a) && Exists(b));

  // A session on b: refused before anything is dropped, naming b.
  {
    auto held = Connect(b);
    Clean({"--all-databases", "--yes"}, &r);
    EXPECT_EQ(r.exit_code, 2) << r.All();
    EXPECT_NE(r.err.find(b + " (1)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--terminate-sessions"), std::string::npos) << r.err;
    EXPECT_TRUE(Exists(a) && Exists(b));

    // --terminate-sessions: both go, the held session is cut.
    Clean({"--all-databases", "--yes", "--terminate-sessions", "--json"}, &r);
    ASSERT_EQ(r.exit_code, 0) << r.All();
    auto dropped = r.Json()["dropped"].dump();
    EXPECT_NE(dropped.find(a), std::string::npos) << dropped;
    EXPECT_NE(dropped.find(b), std::string::npos) << dropped;
    EXPECT_FALSE(Exists(a) || Exists(b));
    EXPECT_TRUE(Exists("postgres"));
    EXPECT_TRUE(Exists("template1"));
  }
}

TEST(Clean, KeepsTheDatabaseItIsConnectedToAndTemplates) {
  std::string keep = CreateDatabase("clean_keep");
  std::string gone = CreateDatabase("clean_gone");
  std::string tmpl = CreateDatabase("clean_tmpl");
  Status marked = Connect("postgres").Exec("ALTER DATABASE " + tmpl + " IS_TEMPLATE true");
  ASSERT_TRUE(marked.ok()) << marked.ToString();
  CliResult r;
  Clean({"--all-databases", "--yes"}, &r, keep);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("dropped"), std::string::npos) << r.out;
  EXPECT_TRUE(Exists(keep));
  EXPECT_TRUE(Exists(tmpl));
  EXPECT_FALSE(Exists(gone));
  // Nothing left to drop: says so and succeeds.
  Clean({"--all-databases", "--yes"}, &r, keep);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("nothing to drop"), std::string::npos) << r.out;
}

}  // namespace pgk::test
