// `pgkeeper demo` end to end, as a newcomer runs it.
#include <gtest/gtest.h>

#include "harness/harness.h"

namespace pgk::test {

TEST(Demo, RunsTheTourAndStopsTheCluster) {
  std::string dir = TempPath("demo_tour");
  auto r = RunCli({"demo", "--dir", dir, "--positions", "500", "--workload-seconds", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* step : {"1. cluster", "2. schema", "3. data", "4. workload", "5. check", "6. backup", "7. disaster",
                           "8. restore", "9. verify", "all row counts match the manifest", "invariant holds", "Try next"}) {
    EXPECT_NE(r.out.find(step), std::string::npos) << step << "\n" << r.out;
  }
  auto cluster = pg::LocalCluster::Open({.dir = dir, .detached = true});
  ASSERT_TRUE(cluster.ok());
  EXPECT_FALSE((*cluster)->RunningPid().has_value()) << "without --keep the demo stops its cluster";
  EXPECT_TRUE(std::filesystem::exists(dir + "/migrations/000001_initial.up.sql"));
  // Running it again reuses the initialized cluster and replaces the demo database.
  r = RunCli({"demo", "--dir", dir, "--positions", "100", "--workload-seconds", "0.5", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = r.Json();
  EXPECT_EQ(j["workload"]["invariant_holds"], true);
  EXPECT_EQ(j["check"]["healthy"], true);
  EXPECT_EQ(j["restore"]["counts_match"], true);
  EXPECT_EQ(j["restore"]["invariant_holds"], true);
  EXPECT_EQ(r.out.find("started"), std::string::npos) << "--json keeps human text off stdout";
}

TEST(Demo, WithDbUsesThatServerAndRefusesToReplace) {
  std::string url = UrlWithPassword("postgres");
  auto r = RunCli({"demo", "--db", url, "--positions", "100", "--workload-seconds", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.All().find(Password()), std::string::npos);
  // escrowgrid now exists there: a second run refuses without --yes.
  r = RunCli({"demo", "--db", url, "--positions", "100", "--workload-seconds", "0.5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("already exists"), std::string::npos);
  r = RunCli({"demo", "--db", url, "--yes", "--positions", "100", "--workload-seconds", "0.5"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace pgk::test
