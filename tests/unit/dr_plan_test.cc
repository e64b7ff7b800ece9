// dr's plan building (src/dr/plan.h) and clean's choice of databases: pure, so every
// scenario, backup choice and refusal is checked here without a server.
#include <gtest/gtest.h>

#include <algorithm>

#include "clean/clean.h"
#include "dr/plan.h"

namespace pgk::dr {

namespace {

repo::Manifest Logical(const std::string& id, const std::string& db, const std::string& start,
                       const std::string& tag = "") {
  repo::Manifest m;
  m.id = id;
  m.type = "logical";
  m.database = db;
  m.start_time = start;
  m.stop_time = start;
  m.tag = tag;
  return m;
}

repo::Manifest Physical(const std::string& id, int64_t stop_s) {
  repo::Manifest m;
  m.id = id;
  m.type = "physical";
  m.physical = repo::PhysicalInfo{};
  m.physical->stop_us = stop_s * 1000000;
  m.start_time = repo::Iso8601(stop_s - 10);
  m.stop_time = repo::Iso8601(stop_s);
  return m;
}

int64_t Epoch(const std::string& iso) { return *repo::ParseIso8601(iso); }

PlanInput Base(Scenario s) {
  PlanInput in;
  in.scenario = s;
  in.database = "app";
  in.repo = "/repo";
  in.backups = {Logical("B1", "app", "2026-12-05T01:00:00Z"), Logical("B2", "other", "2026-12-05T02:00:00Z"),
                Logical("B3", "app", "2026-12-06T01:00:00Z"), Logical("B4", "app", "2026-12-06T11:00:00Z", "safety")};
  return in;
}

std::vector<std::string> Commands(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& s : p.steps) {
    if (s.kind == Step::Kind::kCommand) out.push_back(CommandLine(s, "SRC", "DST"));
  }
  return out;
}

bool HasKind(const Plan& p, Step::Kind k) {
  return std::any_of(p.steps.begin(), p.steps.end(), [&](const Step& s) { return s.kind == k; });
}

}  // namespace

TEST(DrScenario, NamesAndSynonyms) {
  EXPECT_EQ(*ParseScenario("deletion"), Scenario::kDeletion);
  EXPECT_EQ(*ParseScenario("server-lost"), Scenario::kServerLost);
  EXPECT_EQ(*ParseScenario("breach"), Scenario::kSecurityIncident);
  EXPECT_EQ(ParseScenario("flood").status().exit_code(), 2);
  EXPECT_STREQ(ScenarioName(Scenario::kCorruption), "corruption");
}

TEST(DrPlan, CorruptionVerifiesThenReplacesWithTheNewestNonSafetyBackup) {
  auto p = BuildPlan(Base(Scenario::kCorruption));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->backup_id, "B3");  // B4 is a safety backup: the damaged state
  EXPECT_TRUE(p->replaces_live);
  auto cmds = Commands(*p);
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0], "pgkeeper verify B3 --repo /repo");
  EXPECT_EQ(cmds[1], "pgkeeper --db SRC restore B3 --replace app --yes --repo /repo");
  EXPECT_EQ(p->steps.back().kind, Step::Kind::kVerify);
  EXPECT_EQ(p->side_conn_db, "app");
}

TEST(DrPlan, CorruptionPassesSessionAndSafetyFlags) {
  auto in = Base(Scenario::kCorruption);
  in.terminate_sessions = true;
  in.no_safety_backup = true;
  in.key_file = "/k";
  auto p = BuildPlan(in);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Commands(*p)[1],
            "pgkeeper --db SRC restore B3 --replace app --yes --terminate-sessions --no-safety-backup --repo /repo "
            "--key-file /k");
}

TEST(DrPlan, DeletionRestoresTheNewestBackupBeforeTheIncidentIntoASideDatabase) {
  auto in = Base(Scenario::kDeletion);
  in.before_us = Epoch("2026-12-06T00:30:00Z") * 1000000;
  in.before_text = "2026-12-06 00:30:00";
  in.tables = {"public.orders", "public.lines"};
  in.side_db = "recovered";
  in.export_dir = "/tmp/x";
  auto p = BuildPlan(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->backup_id, "B1");  // B3 started after the deletion
  EXPECT_FALSE(p->replaces_live);
  EXPECT_EQ(p->restored_point_us, Epoch("2026-12-05T01:00:00Z") * 1000000);
  EXPECT_EQ(Commands(*p), std::vector<std::string>{"pgkeeper --db SRC restore B1 --into recovered --repo /repo"});
  int exports = 0;
  for (const auto& s : p->steps) exports += s.kind == Step::Kind::kExport;
  EXPECT_EQ(exports, 2);
  EXPECT_EQ(p->side_conn_db, "recovered");
  EXPECT_TRUE(HasKind(*p, Step::Kind::kVerify));
}

TEST(DrPlan, DeletionRefusesWhatItCannotDo) {
  auto in = Base(Scenario::kDeletion);
  in.side_db = "recovered";
  in.tables = {"t"};
  EXPECT_NE(BuildPlan(in).status().message().find("--before"), std::string::npos);
  in.before_us = Epoch("2026-12-06T00:30:00Z") * 1000000;
  in.tables.clear();
  EXPECT_NE(BuildPlan(in).status().message().find("--table"), std::string::npos);
  in.tables = {"t"};
  in.side_db = "app";
  EXPECT_NE(BuildPlan(in).status().message().find("--side-db"), std::string::npos);
  in.side_db = "";
  EXPECT_NE(BuildPlan(in).status().message().find("--side-db"), std::string::npos);
  // Nothing before the incident: names the oldest backup.
  in.side_db = "recovered";
  in.before_us = Epoch("2026-01-01T00:00:00Z") * 1000000;
  in.before_text = "2026-01-01";
  auto none = BuildPlan(in);
  EXPECT_EQ(none.status().exit_code(), 2);
  EXPECT_NE(none.status().hint().find("B1"), std::string::npos) << none.status().ToString();
}

TEST(DrPlan, PhysicalDeletionIsPointInTimeRecoveryOnASidePort) {
  auto in = Base(Scenario::kDeletion);
  in.backups = {Physical("P1", Epoch("2026-12-06T01:00:00Z")), Physical("P2", Epoch("2026-12-06T12:00:00Z"))};
  in.before_us = Epoch("2026-12-06T10:00:00Z") * 1000000;
  in.before_text = "2026-12-06 10:00:00";
  in.tables = {"public.orders"};
  in.method = "physical";
  EXPECT_NE(BuildPlan(in).status().message().find("--pgdata"), std::string::npos);
  in.side_pgdata = "/srv/side";
  in.port = 6543;
  auto p = BuildPlan(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->backup_id, "P1");
  EXPECT_EQ(p->restored_point_us, *in.before_us);
  EXPECT_EQ(p->side_port, 6543);
  EXPECT_EQ(Commands(*p),
            std::vector<std::string>{"pgkeeper restore P1 --pgdata /srv/side --target-time '2026-12-06 10:00:00' "
                                     "--target-exclusive --start --port 6543 --repo /repo"});
}

TEST(DrPlan, WithoutALogicalBackupTheMethodFallsBackToPhysical) {
  auto in = Base(Scenario::kCorruption);
  in.backups = {Physical("P1", Epoch("2026-12-06T01:00:00Z"))};
  in.side_pgdata = "/srv/new";
  in.port = 5433;
  auto p = BuildPlan(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->method, "physical");
  EXPECT_FALSE(p->replaces_live);
  EXPECT_TRUE(HasKind(*p, Step::Kind::kManual));
}

TEST(DrPlan, ServerLostRestoresRolesThenTheDatabaseOnTheNewServer) {
  auto in = Base(Scenario::kServerLost);
  EXPECT_NE(BuildPlan(in).status().message().find("--to"), std::string::npos);
  in.has_target_server = true;
  repo::Manifest g;
  g.id = "G1";
  g.type = "globals";
  in.backups.insert(in.backups.begin(), g);
  auto p = BuildPlan(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(Commands(*p),
            (std::vector<std::string>{"pgkeeper --db DST restore G1 --type globals --no-tablespaces --repo /repo",
                                      "pgkeeper --db DST restore B3 --into app --repo /repo"}));
  EXPECT_TRUE(p->side_on_target);
  EXPECT_EQ(p->steps.back().kind, Step::Kind::kManual);  // point the application there
}

TEST(DrPlan, SecurityRestoresBeforeTheIncidentAndRotatesCredentials) {
  auto in = Base(Scenario::kSecurityIncident);
  in.before_us = Epoch("2026-12-06T00:00:00Z") * 1000000;
  in.before_text = "2026-12-06";
  in.login_roles = {"app", "reporting"};
  auto p = BuildPlan(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->backup_id, "B1");
  EXPECT_TRUE(p->replaces_live);
  bool lists_roles = false;
  for (const auto& s : p->steps) lists_roles |= s.detail.find("app, reporting") != std::string::npos;
  EXPECT_TRUE(lists_roles);
  in.passwords_file = "/etc/pw";
  p = BuildPlan(in);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Commands(*p).back(), "pgkeeper --db SRC roles reset-passwords --file /etc/pw --ignore-missing");
}

TEST(DrPlan, PhysicalSecurityRecoversBesideTheIntrudedServerAndRotatesThere) {
  auto in = Base(Scenario::kSecurityIncident);
  in.backups = {Physical("P1", Epoch("2026-12-06T01:00:00Z")), Physical("P2", Epoch("2026-12-06T12:00:00Z"))};
  in.method = "physical";
  EXPECT_EQ(BuildPlan(in).status().exit_code(), 2);  // --pgdata and --port are needed
  in.side_pgdata = "/srv/clean";
  in.port = 5499;
  in.before_us = Epoch("2026-12-06T10:00:00Z") * 1000000;
  in.before_text = "2026-12-06 10:00:00";
  in.passwords_env = "PW_";
  auto p = BuildPlan(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->backup_id, "P1");  // P2 ended after the incident began
  EXPECT_FALSE(p->replaces_live);  // the intruded cluster is kept as evidence
  EXPECT_EQ(p->side_port, 5499);
  EXPECT_EQ(p->restored_point_us, *in.before_us);
  std::vector<std::string> cmds;
  for (const auto& s : p->steps) {
    if (s.kind == Step::Kind::kCommand) cmds.push_back(CommandLine(s, "SRC", "DST", "RESTORED"));
  }
  EXPECT_EQ(cmds, (std::vector<std::string>{
                      "pgkeeper verify P1 --repo /repo",
                      "pgkeeper restore P1 --pgdata /srv/clean --target-time '2026-12-06 10:00:00' "
                      "--target-exclusive --start --port 5499 --repo /repo",
                      "pgkeeper --db RESTORED roles reset-passwords --from-env PW_ --ignore-missing"}));
  EXPECT_EQ(p->steps.back().kind, Step::Kind::kManual);  // stop the intruded server, repoint
  // Without an incident time: the state at the end of the newest backup, not the
  // archive's end (which holds whatever the intruder did since).
  in.before_us.reset();
  in.before_text.clear();
  p = BuildPlan(in);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->backup_id, "P2");
  EXPECT_NE(CommandLine(p->steps[1], "", "").find("--immediate"), std::string::npos);
}

TEST(DrPlan, AnExplicitBackupMustExistAndFit) {
  auto in = Base(Scenario::kCorruption);
  in.backup_id = "B1";
  EXPECT_EQ(BuildPlan(in)->backup_id, "B1");
  in.backup_id = "B2";  // another database's
  EXPECT_EQ(BuildPlan(in)->backup_id, "B2");
  in.backup_id = "nope";
  EXPECT_EQ(BuildPlan(in).status().exit_code(), 2);
}

TEST(DrPlan, CommandLinesQuoteWhatAShellWouldSplit) {
  Step s{.kind = Step::Kind::kCommand, .args = {"restore", "--into", "it's here"}, .server = Server::kSource};
  // The masked password's * would be a glob to a shell: quoted too.
  EXPECT_EQ(CommandLine(s, "postgresql://u:***@h/db", ""),
            "pgkeeper --db 'postgresql://u:***@h/db' restore --into 'it'\\''s here'");
  s.server = Server::kNone;
  EXPECT_EQ(CommandLine(s, "x", ""), "pgkeeper restore --into 'it'\\''s here'");
}

}  // namespace pgk::dr

namespace pgk::clean {

TEST(CleanChoice, KeepsSystemTemplateAndConnectedDatabases) {
  std::vector<DatabaseInfo> all = {{.name = "postgres"},
                                   {.name = "template0", .is_template = true},
                                   {.name = "template1", .is_template = true},
                                   {.name = "app", .sessions = 2},
                                   {.name = "admin"},
                                   {.name = "fixture", .is_template = true},
                                   {.name = "scratch"}};
  Choice c = ChooseDatabases(all, "admin");
  std::vector<std::string> drop;
  for (const auto& d : c.drop) drop.push_back(d.name);
  EXPECT_EQ(drop, (std::vector<std::string>{"app", "scratch"}));
  EXPECT_EQ(c.kept.size(), 5u);
  EXPECT_EQ(c.drop[0].sessions, 2);
}

}  // namespace pgk::clean
