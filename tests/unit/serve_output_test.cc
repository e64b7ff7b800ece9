// What serve shows and sends: metrics text, status JSON and page, webhook payloads and
// delivery, the [serve] config section.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/config.h"
#include "serve/jobs.h"
#include "serve/metrics.h"
#include "serve/runner.h"
#include "serve/status_page.h"
#include "serve/webhook.h"

namespace pgk::serve {
namespace {

StatusSnapshot Sample() {
  StatusSnapshot s;
  s.version = "0.1.0";
  s.host = "db1";
  s.collected_at = 1765000000;
  s.database_up = true;
  s.migration_version = 5;
  s.schema_differences = 0;
  s.archive_mode = "on";
  s.wal_lag_seconds = 0;
  s.wal_lag_bytes = 1024;
  s.wal_last_archived = 1765000100;
  s.wal_failed_count = 2;
  s.repository_bytes = 12345;
  s.backups = {{"20261201T020000Z-L", "logical", "daily", "app", 1764554400, 1764554410, 10, 100},
               {"20261202T020000Z-L", "logical", "daily", "app", 1764640800, 1764640812, 12, 200},
               {"20261202T030000Z-L", "logical", "", "app", 1764644400, 1764644405, 5, 50},
               {"20261202T040000Z-F", "physical", "", "", 1764648000, 1764648100, 100, 5000}};
  s.last_drill = DrillSummary{1764650000, true, 42.5, "20261202T020000Z-L"};
  JobStatus daily;
  daily.name = "daily";
  daily.command = "backup";
  daily.backup_type = "logical";
  daily.backup_tag = "daily";
  daily.last_run = 1764640812;
  daily.last_success = 1764640812;
  daily.failures_total = 3;
  JobStatus weekly = daily;
  weekly.name = "weekly";
  weekly.backup_tag = "weekly";
  weekly.failures_total = 1;
  weekly.last_success.reset();
  weekly.running = true;
  s.jobs = {daily, weekly};
  ComputeDerived(&s, 1765000200);
  return s;
}

TEST(Metrics, RendersTheContractNames) {
  std::string m = RenderMetrics(Sample());
  for (const char* line : {
           "pgkeeper_up 1",
           "pgkeeper_database_up 1",
           "pgkeeper_backup_last_success_timestamp_seconds{type=\"logical\",tag=\"daily\"} 1764640812",
           "pgkeeper_backup_last_duration_seconds{type=\"logical\",tag=\"daily\"} 12",
           "pgkeeper_backup_last_size_bytes{type=\"logical\",tag=\"daily\"} 200",
           "pgkeeper_backup_previous_size_bytes{type=\"logical\",tag=\"daily\"} 100",
           "pgkeeper_backup_last_size_bytes{type=\"logical\",tag=\"\"} 50",
           "pgkeeper_backup_failures_total{type=\"logical\",tag=\"daily\"} 3",
           "pgkeeper_backup_failures_total{type=\"logical\",tag=\"weekly\"} 1",
           "pgkeeper_backup_failures_total{type=\"logical\",tag=\"\"} 0",
           "pgkeeper_backups{type=\"logical\"} 3",
           "pgkeeper_backups{type=\"physical\"} 1",
           "pgkeeper_job_last_success_timestamp_seconds{job=\"daily\"} 1764640812",
           "pgkeeper_job_last_run_timestamp_seconds{job=\"daily\"} 1764640812",
           "pgkeeper_job_failures_total{job=\"daily\"} 3",
           "pgkeeper_job_running{job=\"weekly\"} 1",
           "pgkeeper_job_running{job=\"daily\"} 0",
           "pgkeeper_wal_archive_lag_seconds 0",
           "pgkeeper_wal_archive_lag_bytes 1024",
           "pgkeeper_wal_last_archived_timestamp_seconds 1765000100",
           "pgkeeper_wal_archive_failing 0",
           "pgkeeper_wal_archive_failures_total 2",
           "pgkeeper_drill_last_timestamp_seconds 1764650000",
           "pgkeeper_drill_last_success 1",
           "pgkeeper_drill_restore_seconds 42.500000",
           "pgkeeper_migration_version 5",
           "pgkeeper_migration_dirty 0",
           "pgkeeper_schema_differences 0",
           "pgkeeper_repository_size_bytes 12345",
           "pgkeeper_recoverable_window_start_timestamp_seconds 1764554400",
           "pgkeeper_recoverable_window_end_timestamp_seconds 1765000100",
       }) {
    EXPECT_NE(m.find(std::string(line) + "\n"), std::string::npos) << line << "\n" << m;
  }
  EXPECT_EQ(m.find("job=\"weekly\"} 1764640812\npgkeeper_job_last_run"), std::string::npos);
  // Every sample's family has HELP and TYPE lines, before its samples, once.
  std::set<std::string> typed, helped;
  std::istringstream in(m);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_TRUE(typed.insert(line.substr(7, line.find(' ', 7) - 7)).second) << line;
    } else if (line.rfind("# HELP ", 0) == 0) {
      helped.insert(line.substr(7, line.find(' ', 7) - 7));
    } else {
      std::string name = line.substr(0, line.find_first_of("{ "));
      EXPECT_TRUE(typed.count(name)) << "no TYPE before " << line;
    }
  }
  EXPECT_EQ(typed, helped);
  for (const char* name : {"pgkeeper_drill_last_timestamp_seconds", "pgkeeper_schema_differences"}) {
    EXPECT_TRUE(typed.count(name)) << name;
  }
}

TEST(Metrics, UnknownValuesAreLeftOutButDeclared) {
  StatusSnapshot s;
  s.collected_at = 1;
  std::string m = RenderMetrics(s);
  EXPECT_NE(m.find("# TYPE pgkeeper_drill_last_success gauge\n"), std::string::npos);
  EXPECT_EQ(m.find("\npgkeeper_drill_last_success "), std::string::npos);
  EXPECT_EQ(m.find("\npgkeeper_wal_archive_failing "), std::string::npos);
  EXPECT_NE(m.find("pgkeeper_database_up 0\n"), std::string::npos);
  EXPECT_EQ(EscapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(Status, WindowAndWarnings) {
  StatusSnapshot s = Sample();
  // A physical backup and archived WAL after it: point-in-time recovery to the last WAL.
  EXPECT_TRUE(s.pitr);
  EXPECT_EQ(*s.window_end, 1765000100);
  StatusSnapshot empty;
  empty.database_up = true;
  ComputeDerived(&empty, 1765000000);
  EXPECT_FALSE(empty.window_start);
  ASSERT_FALSE(empty.warnings.empty());
  EXPECT_NE(empty.warnings[0].find("no backup"), std::string::npos);
  auto j = s.ToJson();
  EXPECT_EQ(j["recoverable_window"]["end"], "2025-12-06T05:48:20Z");
  EXPECT_EQ(j["jobs"][0]["failures_total"], 3);
  EXPECT_EQ(j["wal"]["failing"], false);
  // archive_command failing: a warning at once, long before the lag says so.
  for (const auto& w : s.warnings) EXPECT_EQ(w.find("failing"), std::string::npos) << w;
  s.wal_failing = true;
  s.wal_last_failed = "000000010000000000000042";
  ComputeDerived(&s, 1765000200);
  bool warned = false;
  for (const auto& w : s.warnings) {
    warned = warned || w.find("failing: archive_command failed for 000000010000000000000042") != std::string::npos;
  }
  EXPECT_TRUE(warned);
  EXPECT_NE(RenderMetrics(s).find("pgkeeper_wal_archive_failing 1\n"), std::string::npos);
  EXPECT_NE(RenderStatusPage(s, 1765000200).find("<span class=fail>failing</span>"), std::string::npos);
}

TEST(StatusPage, RendersVerdictAndEscapes) {
  StatusSnapshot s = Sample();
  s.jobs[0].last_ok = false;
  s.jobs[0].last_error = "<script>alert(1)</script>";
  std::string page = RenderStatusPage(s, 1765000200);
  EXPECT_NE(page.find("Recoverable to 2025-12-06T05:48:20Z"), std::string::npos);
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos) << "no external assets";
  StatusSnapshot none;
  EXPECT_NE(RenderStatusPage(none, 1765000200).find("NOT RECOVERABLE"), std::string::npos);
  EXPECT_EQ(Ago(90 * 60), "1 h 30 min ago");
  EXPECT_EQ(Ago(-40), "in 40 s");
}

RunRecord FailedRun() {
  RunRecord r;
  r.job = "daily";
  r.command = "backup";
  r.host = "db1";
  r.end = 1765000000;
  r.exit_code = 3;
  r.error = "cannot connect to postgresql://app:hunter2@db:5432/app";
  r.consecutive_failures = 1;
  return r;
}

TEST(Webhook, PayloadMasksSecrets) {
  nlohmann::json p = WebhookPayload("failure", FailedRun());
  EXPECT_EQ(p["event"], "failure");
  EXPECT_EQ(p["job"], "daily");
  EXPECT_EQ(p["command"], "backup");
  EXPECT_EQ(p["host"], "db1");
  EXPECT_EQ(p["time"], "2025-12-06T05:46:40Z");
  EXPECT_EQ(p.dump().find("hunter2"), std::string::npos) << p.dump();
  EXPECT_NE(p["error"].get<std::string>().find("***"), std::string::npos);
  EXPECT_EQ(MaskWebhookUrl("https://hooks.example/T0/B1/secret?x=1"), "https://hooks.example/***");
  EXPECT_EQ(MaskWebhookUrl("http://user:pw@127.0.0.1:8080/hook"), "http://127.0.0.1:8080/***");
  EXPECT_EQ(MaskWebhookUrl("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
}

TEST(Webhook, RetriesUntilDelivered) {
  httplib::Server server;
  std::atomic<int> calls{0};
  std::string body;
  server.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    if (++calls < 3) {
      res.status = 500;
      return;
    }
    body = req.body;
    res.status = 204;
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  int sleeps = 0;
  Status s = PostWebhook(url, WebhookPayload("failure", FailedRun()), {.attempts = 4}, [&](double) { ++sleeps; });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(sleeps, 2);
  EXPECT_EQ(nlohmann::json::parse(body)["event"], "failure");
  calls = -100;  // always fail from now on
  s = PostWebhook(url, {{"x", 1}}, {.attempts = 2}, [](double) {});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("HTTP 500"), std::string::npos);
  EXPECT_EQ(s.message().find("/hook"), std::string::npos) << "URL masked: " << s.message();
  server.stop();
  t.join();
}

TEST(Runner, InterpretsTheCommandsJson) {
  RunOutcome ok = InterpretOutput(0, "{\n  \"id\": \"20261206T020000Z-L\",\n  \"rows\": 3\n}\n", "");
  EXPECT_EQ(ok.backup_id, "20261206T020000Z-L");
  EXPECT_TRUE(ok.error.empty());
  RunOutcome failed = InterpretOutput(
      3, "{\"error\": {\"message\": \"cannot connect to postgresql://u:pw@h/db\", \"hint\": \"start it\"}}",
      "error: x\n");
  EXPECT_EQ(failed.error, "cannot connect to postgresql://u:***@h/db (hint: start it)");
  RunOutcome crashed = InterpretOutput(139, "", "something\nSegmentation fault\n");
  EXPECT_EQ(crashed.error, "killed by signal 11: Segmentation fault");
  RunOutcome quiet = InterpretOutput(1, "", "");
  EXPECT_EQ(quiet.error, "exited with code 1");
}

TEST(ServeConfig, JobsFromTheConfig) {
  auto c = Config::Parse(R"(
[serve]
listen = "127.0.0.1:9999"
timezone = "Europe/Berlin"
webhook = "https://hooks.example/x"
[[serve.jobs]]
name = "daily"
command = "backup"
schedule = "0 2 * * *"
args = ["--tag", "daily"]
[[serve.jobs]]
name = "drill"
command = "drill"
schedule = "30 3 * * 1"
)",
                         "p.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto sc = LoadServeConfig(*c);
  ASSERT_TRUE(sc.ok()) << sc.status().ToString();
  EXPECT_EQ(sc->listen, "127.0.0.1:9999");
  EXPECT_EQ(sc->timezone.name(), "Europe/Berlin");
  ASSERT_EQ(sc->jobs.size(), 2u);
  EXPECT_EQ(sc->jobs[0].args, (std::vector<std::string>{"--tag", "daily"}));
  EXPECT_EQ(sc->jobs[0].BackupTag(), "daily");
  EXPECT_EQ(sc->jobs[0].BackupType(), "logical");
  EXPECT_EQ(sc->jobs[1].schedule.text(), "30 3 * * 1");
  EXPECT_EQ(sc->refresh_seconds, 60);
  EXPECT_EQ(sc->schema_check_seconds, 300);
}

TEST(ServeConfig, RefreshCadencesAreClampedToSaneBounds) {
  auto c = Config::Parse("[serve]\nrefresh_seconds = 0\nschema_check_seconds = 1\n", "p.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto sc = LoadServeConfig(*c);
  ASSERT_TRUE(sc.ok()) << sc.status().ToString();
  EXPECT_EQ(sc->refresh_seconds, 1);
  EXPECT_EQ(sc->schema_check_seconds, 10);  // a shadow database every second would load the server
}

TEST(ServeConfig, Errors) {
  struct Case {
    const char* toml;
    const char* expect;
  } cases[] = {
      {"[[serve.jobs]]\nname = \"a\"\ncommand = \"restore\"\nschedule = \"@daily\"\n",
       "command 'restore' cannot be scheduled"},
      {"[[serve.jobs]]\nname = \"a\"\ncommand = \"backup\"\nschedule = \"0 24 * * *\"\n",
       "p.toml:1 (a): cron schedule \"0 24 * * *\": hour: 24"},
      {"[[serve.jobs]]\nname = \"a\"\ncommand = \"backup\"\n", "no schedule"},
      {"[[serve.jobs]]\nname = \"a b\"\ncommand = \"backup\"\nschedule = \"@daily\"\n", "name 'a b'"},
      {"[[serve.jobs]]\nname = \"a\"\ncommand = \"backup\"\nschedule = \"@daily\"\n[[serve.jobs]]\nname = \"a\"\n"
       "command = \"expire\"\nschedule = \"@daily\"\n",
       "already exists"},
      {"[[serve.jobs]]\nname = \"a\"\ncommand = \"backup\"\nschedule = \"@daily\"\nargs = [\"--db\", \"x\"]\n", "--db"},
      {"[serve]\ntimezone = \"Mars/Olympus\"\n", "unknown time zone 'Mars/Olympus'"},
  };
  for (const auto& c : cases) {
    auto cfg = Config::Parse(c.toml, "p.toml");
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    auto sc = LoadServeConfig(*cfg);
    ASSERT_FALSE(sc.ok()) << c.toml;
    EXPECT_EQ(sc.status().exit_code(), 2);
    EXPECT_NE(sc.status().message().find(c.expect), std::string::npos) << sc.status().message();
  }
}

TEST(ServeConfig, TypoInAJobKeyIsCaught) {
  auto c = Config::Parse("[[serve.jobs]]\nname = \"a\"\nschedul = \"@daily\"\n", "p.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("serve.jobs.schedul"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().hint().find("serve.jobs.schedule"), std::string::npos);
  auto wrong = Config::Parse("[[serve.jobs]]\nname = \"a\"\nargs = [1, 2]\n", "p.toml");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("an array of strings"), std::string::npos);
  auto not_array = Config::Parse("[serve.jobs]\nname = \"a\"\n", "p.toml");
  ASSERT_FALSE(not_array.ok());
  EXPECT_NE(not_array.status().message().find("an array of tables"), std::string::npos);
}

}  // namespace
}  // namespace pgk::serve
