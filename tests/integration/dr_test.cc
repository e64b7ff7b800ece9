// `dr` rehearsed non-interactively on a real cluster with a posix repository: the
// deletion scenario (side database + CSV of exactly the lost rows), the corruption
// scenario (restore --replace), and the refusal without --yes and without a terminal; and
// interactively, on a pseudo-terminal: the questions, a wrong answer asked again, the
// confirmation.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "harness/harness.h"

namespace pgk::test {

namespace {

std::string NewName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

void Exec(const std::string& db, const std::string& sql) {
  Status s = Connect(db).Exec(sql);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

void Seed(const std::string& db) {
  Exec(db,
       "CREATE TABLE orders (id int PRIMARY KEY, customer text, amount numeric(10,2), created timestamptz);"
       "INSERT INTO orders SELECT g, 'customer ' || g, g * 1.5, '2026-12-01 00:00:00+00'::timestamptz + g * "
       "interval '1 hour' FROM generate_series(1, 100) g;"
       "CREATE TABLE notes (body text, at date);"
       "INSERT INTO notes SELECT 'note ' || g, date '2026-12-01' + g FROM generate_series(1, 10) g;"
       "CREATE TABLE untouched (x int PRIMARY KEY); INSERT INTO untouched SELECT generate_series(1, 5)");
}

std::string Backup(const std::string& db, const std::string& repo) {
  auto r = RunCli({"backup", "--db", UrlWithPassword(db), "--repo", repo, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  return r.exit_code == 0 ? r.Json()["id"].get<std::string>() : "";
}

// The server's clock, UTC, to the second: a --before that is after the backup started.
std::string ServerNowUtc(const std::string& db) {
  return QueryValue(db, "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')");
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

size_t BackupCount(const std::string& repo) {
  auto r = RunCli({"backups", "list", "--repo", repo, "--json"});
  return r.exit_code == 0 ? r.Json()["backups"].size() : 0;
}

// A seeded database with one backup in its own repository, and a --before time after
// that backup's snapshot: the moment just before the accident a deletion test makes.
struct BackedUp {
  std::string db;
  std::string repo;
  std::string before;
};
BackedUp SeededAndBackedUp(const std::string& prefix) {
  BackedUp b{CreateDatabase(prefix), TempPath(NewName("repo_" + prefix)), ""};
  Seed(b.db);
  EXPECT_FALSE(Backup(b.db, b.repo).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  b.before = ServerNowUtc(b.db);
  return b;
}

}  // namespace

TEST(Dr, DeletionRestoresASideDatabaseAndExportsExactlyTheLostRows) {
  auto [db, repo, before] = SeededAndBackedUp("dr_del");
  ASSERT_FALSE(::testing::Test::HasFailure());
  // The accident: 10 orders deleted, one changed; 3 notes deleted.
  Exec(db,
       "DELETE FROM orders WHERE id % 10 = 0; UPDATE orders SET amount = 0 WHERE id = 5;"
       "DELETE FROM notes WHERE body IN ('note 2', 'note 4', 'note 6')");
  auto live_before = TableFingerprints(db);

  std::string side = NewName("recovered");
  std::string exports = TempPath(NewName("dr_export"));
  std::vector<std::string> args = {"dr",
                                   "--db",
                                   UrlWithPassword(db),
                                   "--repo",
                                   repo,
                                   "--scenario",
                                   "deletion",
                                   "--before",
                                   before,
                                   "--table",
                                   "public.orders",
                                   "--table",
                                   "notes",
                                   "--side-db",
                                   side,
                                   "--export-dir",
                                   exports,
                                   "--yes",
                                   "--json"};
  auto r = RunCli(args);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto j = r.Json();
  EXPECT_TRUE(j["ok"].get<bool>()) << j.dump(2);
  EXPECT_EQ(j["plan"]["scenario"], "deletion");
  EXPECT_EQ(j["plan"]["method"], "logical");
  EXPECT_GE(j["rpo_seconds"].get<double>(), 1.0);
  EXPECT_GT(j["rto_seconds"].get<double>(), 0.0);
  for (const auto& c : j["verification"]) EXPECT_TRUE(c["ok"].get<bool>()) << c.dump();

  // The side database holds the state before the accident; the live one is untouched.
  EXPECT_EQ(QueryValue(side, "SELECT count(*) FROM orders"), "100");
  EXPECT_EQ(QueryValue(side, "SELECT amount FROM orders WHERE id = 5"), "7.50");
  EXPECT_EQ(TableFingerprints(db), live_before);

  // Exactly the deleted rows and the changed one, in key order, with a header.
  auto orders = ReadLines(exports + "/public.orders.csv");
  ASSERT_EQ(orders.size(), 12u);
  EXPECT_EQ(orders[0], "id,customer,amount,created");
  EXPECT_EQ(orders[1].substr(0, 2), "5,");
  std::set<std::string> ids;
  for (size_t i = 1; i < orders.size(); ++i) ids.insert(orders[i].substr(0, orders[i].find(',')));
  EXPECT_EQ(ids, (std::set<std::string>{"5", "10", "20", "30", "40", "50", "60", "70", "80", "90", "100"}));
  // A table without a primary key: rows that have no identical live row.
  auto notes = ReadLines(exports + "/public.notes.csv");
  ASSERT_EQ(notes.size(), 4u);
  EXPECT_EQ(notes[0], "body,at");
  std::set<std::string> bodies;
  for (size_t i = 1; i < notes.size(); ++i) bodies.insert(notes[i].substr(0, notes[i].find(',')));
  EXPECT_EQ(bodies, (std::set<std::string>{"note 2", "note 4", "note 6"}));
  bool counted = false;
  for (const auto& s : j["steps"]) {
    if (s["kind"] == "export" && s["result"]["table"] == "public.orders") {
      EXPECT_EQ(s["result"]["missing"], 10);
      EXPECT_EQ(s["result"]["changed"], 1);
      EXPECT_EQ(s["result"]["key"], "id");
      counted = true;
    }
  }
  EXPECT_TRUE(counted) << j["steps"].dump(2);
  // The exported file is private.
  auto perms = std::filesystem::status(exports + "/public.orders.csv").permissions();
  EXPECT_EQ(perms & std::filesystem::perms::others_read, std::filesystem::perms::none);
}

TEST(Dr, DeletionOfAWholeTableExportsAllItsRows) {
  auto [db, repo, before] = SeededAndBackedUp("dr_drop");
  ASSERT_FALSE(::testing::Test::HasFailure());
  Exec(db, "DROP TABLE notes");
  std::string exports = TempPath(NewName("dr_export_drop"));
  auto r = RunCli({"dr", "--db", UrlWithPassword(db), "--repo", repo, "--scenario", "deletion", "--before", before,
                   "--table", "public.notes", "--side-db", NewName("side"), "--export-dir", exports, "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("RPO achieved"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("$ pgkeeper --db"), std::string::npos) << "the plan shows the commands: " << r.out;
  EXPECT_EQ(r.All().find(Password()), std::string::npos) << "the password never appears";
  EXPECT_EQ(ReadLines(exports + "/public.notes.csv").size(), 11u);
}

TEST(Dr, CorruptionReplacesTheDatabaseWithTheLatestBackup) {
  std::string db = CreateDatabase("dr_corrupt");
  Seed(db);
  auto good = TableFingerprints(db);
  std::string repo = TempPath(NewName("repo_dr_corrupt"));
  ASSERT_FALSE(Backup(db, repo).empty());
  // "Corruption": garbage everywhere.
  Exec(db, "UPDATE orders SET customer = 'garbage'; DELETE FROM untouched WHERE x > 2");
  auto damaged = TableFingerprints(db);
  ASSERT_NE(damaged, good);

  // Without --yes and without a terminal: refused, nothing changed, no safety backup.
  auto refused = RunCli({"dr", "--db", UrlWithPassword(db), "--repo", repo, "--scenario", "corruption"});
  EXPECT_EQ(refused.exit_code, 2) << refused.All();
  EXPECT_NE(refused.err.find("needs confirmation"), std::string::npos) << refused.err;
  EXPECT_EQ(TableFingerprints(db), damaged);
  EXPECT_EQ(BackupCount(repo), 1u);

  // --plan-only shows the commands and runs nothing.
  auto plan =
      RunCli({"dr", "--db", UrlWithPassword(db), "--repo", repo, "--scenario", "corruption", "--plan-only", "--json"});
  ASSERT_EQ(plan.exit_code, 0) << plan.All();
  auto pj = plan.Json();
  EXPECT_FALSE(pj["executed"].get<bool>());
  EXPECT_TRUE(pj["plan"]["replaces_live_database"].get<bool>());
  EXPECT_NE(pj["plan"]["steps"].dump().find("restore " + pj["plan"]["backup"].get<std::string>() + " --replace " + db),
            std::string::npos)
      << pj.dump(2);
  EXPECT_EQ(TableFingerprints(db), damaged);

  auto r = RunCli({"dr", "--db", UrlWithPassword(db), "--repo", repo, "--scenario", "corruption", "--yes", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto j = r.Json();
  EXPECT_TRUE(j["ok"].get<bool>()) << j.dump(2);
  EXPECT_EQ(TableFingerprints(db), good);
  // The replace took a safety backup of the damaged database.
  EXPECT_EQ(BackupCount(repo), 2u);
  bool counts_checked = false;
  for (const auto& c : j["verification"]) {
    EXPECT_TRUE(c["ok"].get<bool>()) << c.dump();
    if (c["check"] == "row counts") counts_checked = !c["skipped"].get<bool>();
  }
  EXPECT_TRUE(counts_checked);
}

TEST(Dr, ABackupThatFailsVerificationStopsBeforeAnythingChangesAndNamesTheNextOne) {
  std::string db = CreateDatabase("dr_badbackup");
  Seed(db);
  std::string repo = TempPath(NewName("repo_dr_bad"));
  std::string older = Backup(db, repo);
  ASSERT_FALSE(older.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  std::string newer = Backup(db, repo);
  ASSERT_FALSE(newer.empty());
  ASSERT_NE(older, newer);
  // Damage one stored file of the newest backup.
  std::string data = repo + "/backups/" + newer + "/data";
  std::string victim;
  for (const auto& e : std::filesystem::directory_iterator(data)) victim = e.path().string();
  ASSERT_FALSE(victim.empty());
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.write("XXXXXXXX", 8);
  }
  Exec(db, "UPDATE orders SET customer = 'garbage'");
  auto damaged = TableFingerprints(db);

  auto r = RunCli({"dr", "--db", UrlWithPassword(db), "--repo", repo, "--scenario", "corruption", "--yes", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  auto j = r.Json();
  EXPECT_FALSE(j["ok"].get<bool>());
  EXPECT_EQ(j["plan"]["backup"], newer);
  EXPECT_EQ(j["next_backup"], older);
  ASSERT_EQ(j["steps"].size(), 1u) << "stops at the failed verification";
  EXPECT_NE(j["steps"][0]["error"].get<std::string>().find(newer), std::string::npos) << j.dump(2);
  EXPECT_EQ(TableFingerprints(db), damaged);
  EXPECT_EQ(BackupCount(repo), 2u) << "no safety backup was taken";

  // The hint's backup restores.
  r = RunCli(
      {"dr", "--db", UrlWithPassword(db), "--repo", repo, "--scenario", "corruption", "--backup", older, "--yes"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM orders WHERE customer = 'garbage'"), "0");
}

TEST(Dr, WithoutATerminalTheScenarioMustBeGiven) {
  std::string db = CreateDatabase("dr_noscenario");
  std::string repo = TempPath(NewName("repo_dr_none"));
  Seed(db);
  ASSERT_FALSE(Backup(db, repo).empty());
  auto r = RunCli({"dr", "--db", UrlWithPassword(db), "--repo", repo});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("--scenario"), std::string::npos) << r.err;
  // A deletion without its flags names the missing one.
  r = RunCli({"dr", "--db", UrlWithPassword(db), "--repo", repo, "--scenario", "deletion", "--yes"});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("--before"), std::string::npos) << r.err;
}

TEST(Dr, OnATerminalItAsksWhatHappenedAsksAgainAfterAWrongAnswerAndRunsOnYes) {
  auto [db, repo, before] = SeededAndBackedUp("dr_tty");
  ASSERT_FALSE(::testing::Test::HasFailure());
  Exec(db, "DELETE FROM orders WHERE id <= 3");
  std::string side = NewName("recovered");
  std::string exports = TempPath(NewName("dr_tty_export"));
  // 7 is no scenario, "yesterday" no time, "orders" no schema.table: each is explained
  // and asked again; the side database is typed, the export directory too.
  std::string typed =
      "7\ndeletion\nyesterday\n" + before + "\norders\npublic.orders\n" + side + "\n" + exports + "\nyes\n";
  auto r = RunCliOnTerminal({"dr", "--db", UrlWithPassword(db), "--repo", repo}, typed);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("What happened?"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unknown scenario 7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("'yesterday' is not a timestamp"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("give it as schema.table"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Recovery plan"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Type 'yes' to continue"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("RPO achieved"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(Password()), std::string::npos) << "the password was shown";
  EXPECT_EQ(QueryValue(side, "SELECT count(*) FROM orders"), "100");
  EXPECT_EQ(ReadLines(exports + "/public.orders.csv").size(), 4u);
}

TEST(Dr, OnATerminalReplacingTheDatabaseNeedsItsNameTypedNotYes) {
  std::string db = CreateDatabase("dr_tty_corrupt");
  Seed(db);
  std::string repo = TempPath(NewName("repo_dr_tty_corrupt"));
  ASSERT_FALSE(Backup(db, repo).empty());
  Exec(db, "UPDATE orders SET customer = 'garbage'");
  auto damaged = TableFingerprints(db);
  // A reflexive "yes" is not the database's name: nothing runs, not even the safety backup.
  auto r = RunCliOnTerminal({"dr", "--db", UrlWithPassword(db), "--repo", repo}, "1\nyes\n");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("not confirmed"), std::string::npos) << r.out;
  EXPECT_EQ(TableFingerprints(db), damaged);
  EXPECT_EQ(BackupCount(repo), 1u);
  // The name typed: the safety backup, then the latest backup in its place.
  r = RunCliOnTerminal({"dr", "--db", UrlWithPassword(db), "--repo", repo}, "corruption\n" + db + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(QueryValue(db, "SELECT count(*) FROM orders WHERE customer = 'garbage'"), "0");
  EXPECT_EQ(BackupCount(repo), 2u) << "the safety backup";
  // Input that ends before an answer stops dr without running anything.
  r = RunCliOnTerminal({"dr", "--db", UrlWithPassword(db), "--repo", repo}, "2\n");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("no answer"), std::string::npos) << r.out;
}

}  // namespace pgk::test
