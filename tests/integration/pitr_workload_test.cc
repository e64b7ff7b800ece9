// PITR exactness under the example application's workload (issue #6's correctness bar):
// the workload moves positions through their states on two connections, each state
// change one transaction with its events, while WAL is archived. Commit times come from
// PostgreSQL itself (track_commit_timestamp). For several targets T, `restore
// --target-time T` must hold exactly the events committed at or before T — not one
// more, not one fewer — and the workload invariant must hold (no state change half
// applied). Its own binary: the cluster needs track_commit_timestamp, set at start.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "demo/example_app.h"
#include "harness/archiving.h"
#include "harness/harness.h"
#include "pg/local_cluster.h"
#include "pg/quote.h"
#include "workload/run.h"
#include "workload/seed.h"
#include "workload/verify.h"

namespace pgk::test {

namespace {

// The events committed at or before `t` (a timestamptz literal): count and digest of ids.
std::string EventsAtOrBefore(pg::Connection& c, const std::string& t) {
  return ValueOf(c,
                 "SELECT count(*) || ' ' || md5(string_agg(id::text, ',' ORDER BY id)) FROM position_events "
                 "WHERE pg_xact_commit_timestamp(xmin) <= " +
                     pg::QuoteLiteral(t) + "::timestamptz");
}

std::string AllEvents(pg::Connection& c) {
  return ValueOf(c, "SELECT count(*) || ' ' || md5(string_agg(id::text, ',' ORDER BY id)) FROM position_events");
}

}  // namespace

TEST(PitrWorkload, EveryTargetHoldsExactlyTheTransactionsCommittedByThenAndTheInvariant) {
  const std::string db = "ledger";
  ASSERT_TRUE(SharedSource().CreateDatabase(db).ok());
  auto conn = MustConnect(SharedSource().ConnInfo(db));
  ASSERT_TRUE(demo::ApplyExampleMigrations(conn, "").ok());
  ASSERT_TRUE(workload::Seed(conn, {.positions = 300}).ok());
  auto b = RunCliAsServerUser(
      {"backup", "--type", "physical", "--db", SharedSource().ConnInfo(), "--repo", SharedRepo(), "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.All();

  auto ran = workload::Run(
      {.conninfo = SharedSource().ConnInfo(db), .rate = 150, .duration_s = 6, .clients = 2, .random_seed = 7});
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  ASSERT_GT(ran->state_changes, 300);
  SwitchAndWaitArchived(conn);

  // Targets: the exact commit times of the workload's transactions at a quarter, half and
  // three quarters of the run (microsecond text, UTC), so that a target sits on a commit
  // with others a few milliseconds on either side.
  auto times = conn.Query(
      "SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM ("
      "  SELECT DISTINCT pg_xact_commit_timestamp(xmin) AS ts FROM position_events"
      "  WHERE pg_xact_commit_timestamp(xmin) > (SELECT min(pg_xact_commit_timestamp(xmin)) FROM position_events)"
      ") c ORDER BY ts");  // after the seed's one transaction
  ASSERT_TRUE(times.ok()) << times.status().ToString();
  ASSERT_GT(times->rows(), 100);
  std::vector<std::string> targets;
  for (int q = 1; q <= 3; ++q) targets.push_back(times->GetString(times->rows() * q / 4, 0));
  std::string everything = AllEvents(conn);

  for (size_t i = 0; i <= targets.size(); ++i) {
    bool latest = i == targets.size();
    SCOPED_TRACE(latest ? "latest" : "target " + targets[i]);
    std::string expected = latest ? everything : EventsAtOrBefore(conn, targets[i] + "+00");
    auto port = pg::FindFreePort();
    ASSERT_TRUE(port.ok());
    std::string pgdata = TempPath("pitr-workload-" + std::to_string(i));
    std::vector<std::string> args = {"restore", "--repo", SharedRepo(),          "--pgdata", pgdata,
                                     "--start", "--port", std::to_string(*port), "--json"};
    if (!latest) args.insert(args.end(), {"--target-time", targets[i]});
    auto r = RunCli(args);
    ASSERT_EQ(r.exit_code, 0) << r.All();
    auto report = r.Json();
    pid_t pid = report["started"]["pid"].get<pid_t>();
    {
      auto restored = MustConnect(RestoredConninfo(SharedSource(), *port, db));
      EXPECT_EQ(AllEvents(restored), expected);
      auto inv = workload::VerifyInvariant(restored);
      ASSERT_TRUE(inv.ok()) << inv.status().ToString();
      EXPECT_TRUE(inv->holds()) << inv->count_mismatches << " count mismatches, " << inv->broken_chains
                                << " broken chains, " << inv->unmatched_ledger << "/" << inv->unmatched_events
                                << " unmatched";
    }
    StopServer(pid);
    std::filesystem::remove_all(pgdata);
  }
}

}  // namespace pgk::test
