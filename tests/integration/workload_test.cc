// The workload generator and its invariant, which later issues use to prove restores.
#include <gtest/gtest.h>

#include "harness/harness.h"
#include "workload/run.h"
#include "workload/seed.h"
#include "workload/verify.h"

namespace pgk::test {

TEST(Workload, SeedIsConsistent) {
  std::string db = CreateExampleDatabase("wl_seed", 2000);
  auto conn = Connect(db);
  auto inv = workload::VerifyInvariant(conn);
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_TRUE(inv->holds());
  EXPECT_EQ(inv->positions, 2000);
  EXPECT_GT(inv->position_events, 1000);
  EXPECT_EQ(inv->position_events, inv->ledger_events);
}

TEST(Workload, InvariantHoldsAfterConcurrentRun) {
  std::string db = CreateExampleDatabase("wl_run", 500);
  auto before = *Connect(db).QueryValue("SELECT count(*) FROM position_events");
  auto st = workload::Run({.conninfo = ConnInfo(db), .rate = 400, .duration_s = 2, .clients = 4, .random_seed = 7});
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_GT(st->state_changes, 200);
  // The rate is a ceiling.
  EXPECT_LE(st->state_changes, 400 * 2 + 50);
  auto conn = Connect(db);
  auto after = std::stoll(*conn.QueryValue("SELECT count(*) FROM position_events"));
  EXPECT_EQ(after - std::stoll(before), st->state_changes);
  auto inv = workload::VerifyInvariant(conn);
  ASSERT_TRUE(inv.ok());
  EXPECT_TRUE(inv->holds()) << inv->count_mismatches << " " << inv->broken_chains;
}

TEST(Workload, CliSeedRunVerify) {
  std::string db = CreateExampleDatabase("wl_cli", 0);
  std::string url = UrlWithPassword(db);
  auto r = RunCli({"workload", "seed", "--db", url, "--positions", "300", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.Json()["positions"], 300);
  r = RunCli({"workload", "run", "--db", url, "--rate", "200", "--duration", "1", "--clients", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("state changes"), std::string::npos);
  r = RunCli({"workload", "verify", "--db", url, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.Json()["holds"], true);
}

// The invariant must catch each kind of damage a bad restore could do.
TEST(Workload, InvariantDetectsLostAndHalfAppliedChanges) {
  struct Damage {
    const char* name;
    const char* sql;
    const char* field;
  };
  const Damage damages[] = {
      {"lost ledger event", "DELETE FROM ledger_events WHERE id = (SELECT min(id) FROM ledger_events)", "unmatched_position_events"},
      {"lost position event",
       "DELETE FROM ledger_events WHERE payload->>'position_event_id' = (SELECT min(id) FROM position_events);"
       "DELETE FROM position_events WHERE id = (SELECT min(id) FROM position_events)",
       "count_mismatches"},
      {"state without event", "UPDATE positions SET state_version = state_version + 1 WHERE id = (SELECT min(id) FROM positions)",
       "count_mismatches"},
      {"wrong state", "UPDATE positions SET state = 'disputed' WHERE state_version > 0 AND state <> 'disputed' AND id = "
                      "(SELECT min(id) FROM positions WHERE state_version > 0 AND state <> 'disputed')",
       "broken_chains"},
  };
  for (const auto& d : damages) {
    std::string db = CreateExampleDatabase("wl_damage", 200);
    auto conn = Connect(db);
    ASSERT_TRUE(conn.Exec("ALTER TABLE ledger_events DROP CONSTRAINT IF EXISTS ledger_events_position_id_fkey").ok());
    ASSERT_TRUE(conn.Exec(d.sql).ok()) << d.name;
    auto r = RunCli({"workload", "verify", "--db", UrlWithPassword(db), "--json"});
    EXPECT_EQ(r.exit_code, 1) << d.name << ": " << r.out;
    auto j = r.Json();
    EXPECT_EQ(j["holds"], false) << d.name;
    EXPECT_GT(j[d.field].get<int64_t>(), 0) << d.name << ": " << r.out;
    auto human = RunCli({"workload", "verify", "--db", UrlWithPassword(db)});
    EXPECT_NE(human.out.find("invariant violated"), std::string::npos) << d.name;
  }
}

TEST(Workload, SeedWithoutSchemaFailsClearly) {
  std::string db = CreateDatabase("wl_noschema");
  auto r = RunCli({"workload", "seed", "--db", UrlWithPassword(db)});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("institutions"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint:"), std::string::npos);
}

}  // namespace pgk::test
