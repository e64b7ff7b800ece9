// `pgkeeper serve` as a whole process against a real PostgreSQL: scheduled jobs (with the
// test clock PGKEEPER_TEST_NOW), run records, /metrics read by promtool and by a real
// Prometheus, /health when the database is down, the status page in headless Chromium,
// SIGTERM during a backup, SIGHUP reloading the jobs, and webhooks on failure and recovery.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "harness/harness.h"
#include "harness/test_cert.h"
#include "pg/local_cluster.h"

namespace pgk::test {
namespace {

using Env = std::map<std::string, std::string>;
using namespace std::chrono_literals;

int FreePort() {
  auto p = pg::FindFreePort();
  EXPECT_TRUE(p.ok());
  return p.ok() ? *p : 0;
}

bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return done();
}

std::string SmallDatabase(const std::string& prefix) {
  std::string db = CreateDatabase(prefix);
  Status s = Connect(db).Exec(
      "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 100) "
      "g;");
  EXPECT_TRUE(s.ok()) << s.ToString();
  return db;
}

struct HttpResult {
  int status = -1;
  std::string body;
};

HttpResult Get(int port, const std::string& path, const httplib::Headers& headers = {}) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2);
  c.set_read_timeout(20);
  auto r = c.Get(path.c_str(), headers);
  if (!r) return {};
  return {r->status, r->body};
}

// A running `pgkeeper serve`; stopped with SIGTERM (and its exit code checked) at the end.
class Serve {
 public:
  Serve(const std::string& name, const std::string& db_url, const std::string& repo, const std::string& jobs_toml,
        const std::string& test_now = "", const std::string& extra_toml = "") {
    port_ = FreePort();
    config_ = MakeFiles(name, {{"pgkeeper.toml", "[serve]\nrefresh_seconds = 1\n" + extra_toml + jobs_toml}}) +
              "/pgkeeper.toml";
    Env env;
    if (!test_now.empty()) env["PGKEEPER_TEST_NOW"] = test_now;
    bg_ = StartCli({"serve", "--config", config_, "--db", db_url, "--repo", repo, "--listen",
                    "127.0.0.1:" + std::to_string(port_), "--stop-timeout", "60"},
                   env);
    bool up = WaitFor([&] { return Get(port_, "/health").status > 0 || !Running(); }, 30s);
    EXPECT_TRUE(up && Running()) << "serve did not come up: " << Stop().All();
  }
  ~Serve() {
    if (bg_.process) Stop();
  }
  int port() const { return port_; }
  const std::string& config() const { return config_; }
  pid_t pid() const { return bg_.process ? bg_.process->pid() : -1; }
  bool Running() { return bg_.process && !bg_.process->TryWait().has_value(); }
  CliResult Stop(int sig = SIGTERM) {
    if (!bg_.process) return result_;
    bg_.process->Signal(sig);
    result_ = bg_.Wait();
    return result_;
  }
  nlohmann::json StatusJson() {
    auto r = Get(port_, "/api/status");
    if (r.status != 200) return nullptr;
    return nlohmann::json::parse(r.body, nullptr, false);
  }
  nlohmann::json Job(const std::string& name) {
    nlohmann::json s = StatusJson();
    if (!s.is_object()) return nullptr;
    for (const auto& j : s["jobs"])
      if (j["name"] == name) return j;
    return nullptr;
  }

 private:
  int port_ = 0;
  std::string config_;
  BackgroundCli bg_;
  CliResult result_;
};

std::string JobToml(const std::string& name, const std::string& command, const std::string& schedule,
                    const std::string& args = "[]") {
  return "[[serve.jobs]]\nname = \"" + name + "\"\ncommand = \"" + command + "\"\nschedule = \"" + schedule +
         "\"\nargs = " + args + "\n";
}

// A token file as serve requires it (only its owner may read it); returns its path.
std::string TokenFile(const std::string& name, const std::string& token) {
  std::string path = MakeFiles(name, {{"token", token + "\n"}}) + "/token";
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return path;
}

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::vector<std::string> ListBackups(const std::string& repo) {
  std::vector<std::string> ids;
  auto r = RunCli({"backups", "list", "--repo", repo, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  if (r.exit_code != 0) return ids;
  nlohmann::json doc = r.Json();  // not in the for: a temporary's element would dangle
  for (const auto& b : doc["backups"]) ids.push_back(b["id"]);
  return ids;
}

std::vector<nlohmann::json> RunRecords(const std::string& repo, const std::string& job) {
  std::vector<nlohmann::json> out;
  std::filesystem::path dir = std::filesystem::path(repo) / "serve" / "runs" / job;
  if (!std::filesystem::exists(dir)) return out;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) out.push_back(nlohmann::json::parse(*fs::ReadFile(f)));
  return out;
}

bool JobDone(Serve& serve, const std::string& job) {
  nlohmann::json j = serve.Job(job);
  return j.is_object() && !j["last_run"].is_null() && !j["running"].get<bool>();
}

TEST(Serve, ScheduledBackupRunsAndShowsInMetrics) {
  std::string db = SmallDatabase("serve_sched");
  std::string repo = TempPath("serve_sched_repo");
  // The test clock starts ten seconds before 02:00 in Berlin (01:00 UTC in December).
  Serve serve("serve_sched_cfg", UrlWithPassword(db), repo,
              JobToml("daily", "backup", "0 2 * * *", "[\"--tag\", \"daily\"]"), "2026-12-06T00:59:50Z",
              "timezone = \"Europe/Berlin\"\n");
  nlohmann::json before = serve.Job("daily");
  ASSERT_TRUE(before.is_object());
  EXPECT_EQ(before["next"], "2026-12-06T01:00:00Z");
  ASSERT_TRUE(WaitFor([&] { return JobDone(serve, "daily"); }, 90s)) << serve.Stop().All();
  nlohmann::json job = serve.Job("daily");
  EXPECT_TRUE(job["last_ok"].get<bool>()) << job.dump();
  EXPECT_EQ(job["next"], "2026-12-07T01:00:00Z");

  auto ids = ListBackups(repo);
  ASSERT_EQ(ids.size(), 1u) << serve.Stop().All();
  auto records = RunRecords(repo, "daily");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["ok"], true);
  EXPECT_EQ(records[0]["command"], "backup");
  EXPECT_EQ(records[0]["backup_id"], ids[0]);
  EXPECT_EQ(records[0]["scheduled"], "2026-12-06T01:00:00Z");
  EXPECT_EQ(records[0]["exit_code"], 0);

  // The status refresh after the job picks up the new backup.
  std::string metrics;
  ASSERT_TRUE(WaitFor(
      [&] {
        metrics = Get(serve.port(), "/metrics").body;
        return metrics.find("pgkeeper_backup_last_success_timestamp_seconds{type=\"logical\",tag=\"daily\"}") !=
               std::string::npos;
      },
      30s))
      << metrics;
  EXPECT_NE(metrics.find("pgkeeper_job_last_success_timestamp_seconds{job=\"daily\"}"), std::string::npos);
  EXPECT_NE(metrics.find("pgkeeper_backups{type=\"logical\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("pgkeeper_database_up 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("pgkeeper_job_failures_total{job=\"daily\"} 0\n"), std::string::npos);

  std::string promtool = FindOnPath("promtool");
  ASSERT_FALSE(promtool.empty()) << "promtool (Debian package prometheus) is not installed";
  std::string file = TempPath("serve_metrics.txt");
  ASSERT_TRUE(fs::WriteFile(file, metrics).ok());
  auto check = RunProcess({.argv = {"/bin/sh", "-c", promtool + " check metrics < " + file}, .capture = true});
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->exit_code, 0) << check->output;

  CliResult r = serve.Stop();
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find("job daily: ok"), std::string::npos) << r.err;
}

// A real Prometheus scrapes /metrics and evaluates the shipped alert rules on it. serve
// watches a database behind a port nobody listens on, so PgkeeperDatabaseDown must go
// pending (its `for:` is minutes) on real samples, and every rule must evaluate cleanly.
TEST(Serve, PrometheusScrapesItAndTheShippedAlertRulesEvaluate) {
  std::string prometheus = FindOnPath("prometheus");
  if (prometheus.empty() && std::filesystem::exists("/usr/bin/prometheus")) prometheus = "/usr/bin/prometheus";
  // CI installs it (scripts/install-deps.sh): there a missing tool fails, not skips.
  if (prometheus.empty() && std::getenv("CI") != nullptr) FAIL() << "prometheus is not installed under CI";
  if (prometheus.empty()) GTEST_SKIP() << "prometheus is not installed (Debian package prometheus)";
  std::string url = "postgresql://postgres:" + Password() + "@127.0.0.1:" + std::to_string(FreePort()) + "/none";
  // With an access token, scraped the way the docs tell Prometheus to: a credentials file.
  std::string token_file = TokenFile("serve_prom_token", "prometheus-scrape-token-0123456789");
  Serve serve("serve_prom_cfg", url, TempPath("serve_prom_repo"), "", "", "token_file = \"" + token_file + "\"\n");
  EXPECT_EQ(Get(serve.port(), "/metrics").status, 401);
  int prom_port = FreePort();
  std::string rules = std::string(PGKEEPER_SOURCE_DIR) + "/deploy/prometheus/pgkeeper-rules.yml";
  std::string dir = MakeFiles("serve_prom", {{"prometheus.yml",
                                              "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                              "rule_files:\n  - '" +
                                                  rules +
                                                  "'\n"
                                                  "scrape_configs:\n  - job_name: pgkeeper\n"
                                                  "    authorization:\n      credentials_file: '" +
                                                  token_file +
                                                  "'\n    static_configs:\n"
                                                  "      - targets: ['127.0.0.1:" +
                                                  std::to_string(serve.port()) + "']\n"}});
  std::filesystem::create_directories(dir + "/data");
  auto p = Process::Spawn(
      {.argv = {prometheus, "--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/data",
                "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
       .output_file = dir + "/prometheus.log",
       .parent_death_signal = SIGKILL});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::string answer;
  bool up = WaitFor(
      [&] {
        answer = Get(prom_port, "/api/v1/query?query=pgkeeper_up").body;
        auto j = nlohmann::json::parse(answer, nullptr, false);
        if (!j.is_object() || j.value("status", "") != "success") return false;
        for (const auto& r : j["data"]["result"]) {
          if (r["metric"]["job"] == "pgkeeper" && r["value"][1] == "1") return true;
        }
        return false;
      },
      90s);
  std::string alerts;
  bool pending = up && WaitFor(
                           [&] {
                             alerts = Get(prom_port, "/api/v1/alerts").body;
                             std::string rules_now = Get(prom_port, "/api/v1/rules").body;
                             return alerts.find("PgkeeperDatabaseDown") != std::string::npos &&
                                    rules_now.find("\"health\":\"unknown\"") == std::string::npos;
                           },
                           60s);
  std::string rule_state = Get(prom_port, "/api/v1/rules").body;
  std::string targets = Get(prom_port, "/api/v1/targets").body;
  p->Signal(SIGTERM);
  p->Wait();
  EXPECT_TRUE(up) << answer << "\n" << targets << "\n" << fs::ReadFile(dir + "/prometheus.log").value();
  EXPECT_TRUE(pending) << alerts;
  auto health = nlohmann::json::parse(targets, nullptr, false);
  if (health.is_object()) {
    for (const auto& t : health["data"]["activeTargets"]) EXPECT_EQ(t["health"], "up") << t.dump();
  }
  // Every shipped rule was loaded and evaluates without error on the real samples.
  auto rj = nlohmann::json::parse(rule_state, nullptr, false);
  ASSERT_TRUE(rj.is_object()) << rule_state;
  int evaluated = 0;
  for (const auto& g : rj["data"]["groups"]) {
    for (const auto& r : g["rules"]) {
      EXPECT_EQ(r["health"], "ok") << r.dump();
      ++evaluated;
    }
  }
  EXPECT_GE(evaluated, 8) << rule_state;
}

TEST(Serve, HealthFollowsTheDatabase) {
  std::string db = SmallDatabase("serve_health");
  Serve up("serve_health_up", UrlWithPassword(db), TempPath("serve_health_repo"), "");
  HttpResult ok = Get(up.port(), "/health");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(nlohmann::json::parse(ok.body)["status"], "ok");
  EXPECT_EQ(Get(up.port(), "/ready").status, 200);

  // The same database behind a port nobody listens on: down.
  int dead = FreePort();
  std::string url = "postgresql://postgres:" + Password() + "@127.0.0.1:" + std::to_string(dead) + "/" + db;
  Serve down("serve_health_down", url, TempPath("serve_health_repo2"), "");
  HttpResult bad = Get(down.port(), "/health");
  EXPECT_EQ(bad.status, 503) << bad.body;
  auto body = nlohmann::json::parse(bad.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << bad.body;
  EXPECT_EQ(body["database"], "down");
  EXPECT_NE(body["error"].get<std::string>().find("not listening"), std::string::npos) << bad.body;
  EXPECT_EQ(bad.body.find(Password()), std::string::npos) << "no password in the answer";
  EXPECT_EQ(Get(down.port(), "/ready").status, 503);
  std::string metrics = Get(down.port(), "/metrics").body;
  EXPECT_NE(metrics.find("pgkeeper_database_up 0\n"), std::string::npos);
  // Every metric the shipped alert rules and dashboard may use (tests/deploy/check_files.py
  // checks them against that list) is one serve really exposes, data or not.
  auto list = fs::ReadFile(std::string(PGKEEPER_SOURCE_DIR) + "/tests/deploy/check_files.py");
  ASSERT_TRUE(list.ok());
  std::string block = list->substr(list->find("METRICS = {"));
  block = block.substr(0, block.find('}'));
  int checked = 0;
  for (size_t at = block.find("\"pgkeeper_"); at != std::string::npos; at = block.find("\"pgkeeper_", at + 1)) {
    std::string name = block.substr(at + 1, block.find('"', at + 1) - at - 1);
    EXPECT_NE(metrics.find("# TYPE " + name + " "), std::string::npos) << name << " is not exposed";
    ++checked;
  }
  EXPECT_GE(checked, 25);
  EXPECT_EQ(up.Stop().exit_code, 0);
  EXPECT_EQ(down.Stop().exit_code, 0);
}

// With an access token, everything but the probes needs it (Bearer, or the Basic
// password a browser sends); SIGHUP reads a rotated token file; the token appears in no
// answer and no log line.
TEST(Serve, AccessTokenGuardsAllButTheProbesAndRotatesOnSighup) {
  std::string db = SmallDatabase("serve_token");
  const std::string first = "first-token-abcdefghijklmnop", second = "second-token-qrstuvwxyz0123";
  std::string token_file = TokenFile("serve_token_file", first);
  Serve serve("serve_token_cfg", UrlWithPassword(db), TempPath("serve_token_repo"), "", "",
              "token_file = \"" + token_file + "\"\n");
  for (const char* path : {"/metrics", "/api/status", "/"}) {
    HttpResult denied = Get(serve.port(), path);
    EXPECT_EQ(denied.status, 401) << path << ": " << denied.body;
    EXPECT_EQ(denied.body.find(first), std::string::npos);
    EXPECT_EQ(Get(serve.port(), path, Bearer(first + "x")).status, 401) << path;
    EXPECT_EQ(Get(serve.port(), path, Bearer(first)).status, 200) << path;
  }
  httplib::Client browser("127.0.0.1", serve.port());
  browser.set_basic_auth("anyone", first.c_str());
  auto page = browser.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<html"), std::string::npos);
  auto challenge = httplib::Client("127.0.0.1", serve.port()).Get("/");
  ASSERT_TRUE(challenge);
  EXPECT_NE(challenge->get_header_value("WWW-Authenticate").find("Basic"), std::string::npos);
  for (const char* probe : {"/live", "/health", "/ready"}) {
    EXPECT_EQ(Get(serve.port(), probe).status, 200) << probe;
  }

  // Rotation: the new token works at once, the old one no longer does.
  std::ofstream(token_file, std::ios::trunc) << second << "\n";
  ASSERT_EQ(::kill(serve.pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitFor([&] { return Get(serve.port(), "/metrics", Bearer(second)).status == 200; }, 10s));
  EXPECT_EQ(Get(serve.port(), "/metrics", Bearer(first)).status, 401);
  // A token file that others may read is refused on reload; the running token stays.
  std::filesystem::permissions(token_file, std::filesystem::perms::others_read, std::filesystem::perm_options::add);
  ASSERT_EQ(::kill(serve.pid(), SIGHUP), 0);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(Get(serve.port(), "/metrics", Bearer(second)).status, 200);
  CliResult r = serve.Stop();
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find("an access token is required"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  EXPECT_EQ(r.All().find(first), std::string::npos) << r.All();
  EXPECT_EQ(r.All().find(second), std::string::npos) << r.All();
}

// Beyond loopback without a token serve warns; a token too short to be one is refused
// at start-up (exit 2), naming where it came from but not repeating it.
TEST(Serve, WarnsWhenExposedWithoutATokenAndRefusesAWeakOne) {
  std::string db = SmallDatabase("serve_exposed");
  int port = FreePort();
  auto weak = RunCli({"serve", "--db", UrlWithPassword(db), "--repo", TempPath("serve_weak_repo"), "--listen",
                      "127.0.0.1:" + std::to_string(port)},
                     {{"PGKEEPER_SERVE_TOKEN", "hunter2"}});
  EXPECT_EQ(weak.exit_code, 2) << weak.All();
  EXPECT_NE(weak.err.find("PGKEEPER_SERVE_TOKEN"), std::string::npos) << weak.err;
  EXPECT_EQ(weak.All().find("hunter2"), std::string::npos) << weak.All();

  auto bg = StartCli({"serve", "--db", UrlWithPassword(db), "--repo", TempPath("serve_exposed_repo"), "--listen",
                      "0.0.0.0:" + std::to_string(port)},
                     {});
  EXPECT_TRUE(WaitFor([&] { return Get(port, "/live").status == 200; }, 30s));
  bg.process->Signal(SIGTERM);
  CliResult r = bg.Wait();
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find("without an access token"), std::string::npos) << r.err;
}

// HTTPS: only TLS answers on the port, clients that trust the certificate connect, and
// SIGHUP puts a renewed certificate in front of new connections without a restart. A key
// that does not match its certificate stops serve at start-up (exit 2).
TEST(Serve, HttpsServesAndRenewsItsCertificateOnSighup) {
  std::string db = SmallDatabase("serve_tls");
  std::string dir = MakeFiles("serve_tls", {{"ca-a.pem", ""}});
  auto first = MakeTestCert("first"), second = MakeTestCert("second");
  ASSERT_TRUE(fs::WriteFile(dir + "/ca-a.pem", first.cert_pem).ok());
  ASSERT_TRUE(fs::WriteFile(dir + "/ca-b.pem", second.cert_pem).ok());
  auto install = [&](const TestCert& c) {
    std::ofstream(dir + "/cert.pem", std::ios::trunc) << c.cert_pem;
    std::ofstream(dir + "/key.pem", std::ios::trunc) << c.key_pem;
    std::filesystem::permissions(dir + "/key.pem", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  };
  install(first);
  std::string config = dir + "/pgkeeper.toml";
  std::ofstream(config) << "[serve]\ntls_cert_file = \"" << dir << "/cert.pem\"\ntls_key_file = \"" << dir
                        << "/key.pem\"\n";
  int port = FreePort();
  auto live_with = [&](const std::string& ca) {
    httplib::SSLClient c("127.0.0.1", port);
    c.set_ca_cert_path((dir + "/" + ca).c_str());
    c.enable_server_certificate_verification(true);
    c.set_connection_timeout(2);
    auto r = c.Get("/live");
    return r ? r->status : -1;
  };
  auto bg = StartCli({"serve", "--config", config, "--db", UrlWithPassword(db), "--repo", TempPath("serve_tls_repo"),
                      "--listen", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(WaitFor([&] { return live_with("ca-a.pem") == 200; }, 30s)) << [&] {
    bg.process->Signal(SIGTERM);
    return bg.Wait().All();
  }();
  EXPECT_EQ(live_with("ca-b.pem"), -1) << "a client that does not trust the certificate";
  {
    httplib::SSLClient c("127.0.0.1", port);
    c.enable_server_certificate_verification(false);
    auto m = c.Get("/metrics");
    ASSERT_TRUE(m);
    EXPECT_NE(m->body.find("\npgkeeper_tls_certificate_expiry_timestamp_seconds "), std::string::npos) << m->body;
  }
  EXPECT_EQ(Get(port, "/live").status, -1) << "plain HTTP on the HTTPS port";

  install(second);
  ASSERT_EQ(::kill(bg.process->pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitFor([&] { return live_with("ca-b.pem") == 200; }, 10s));
  EXPECT_EQ(live_with("ca-a.pem"), -1);
  bg.process->Signal(SIGTERM);
  CliResult r = bg.Wait();
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("listening on https://127.0.0.1:"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("reload: TLS certificate CN=second"), std::string::npos) << r.err;
  EXPECT_EQ(r.All().find("PRIVATE KEY"), std::string::npos);

  std::ofstream(dir + "/key.pem", std::ios::trunc) << first.key_pem;  // second's certificate, first's key
  auto mismatch = RunCli({"serve", "--config", config, "--db", UrlWithPassword(db), "--repo",
                          TempPath("serve_tls_repo"), "--listen", "127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(mismatch.exit_code, 2) << mismatch.All();
  EXPECT_NE(mismatch.err.find("is not the private key of the certificate"), std::string::npos) << mismatch.err;
}

// Two serves on one repository: the second stands by, the scheduled backup runs once,
// and when the first stops the second takes over without running it again.
TEST(Serve, ASecondServeStandsByAndTakesOverWithoutRepeatingARun) {
  std::string db = SmallDatabase("serve_lease");
  std::string repo = TempPath("serve_lease_repo");
  std::string job = JobToml("nightly", "backup", "0 2 * * *");
  std::string settings = "timezone = \"Europe/Berlin\"\nlease_seconds = 4\n";
  // Both clocks start ten seconds before 02:00 Berlin (01:00 UTC).
  Serve first("serve_lease_a", UrlWithPassword(db), repo, job, "2026-12-06T00:59:50Z", settings);
  Serve second("serve_lease_b", UrlWithPassword(db), repo, job, "2026-12-06T00:59:50Z", settings);
  nlohmann::json standby = second.StatusJson();
  ASSERT_TRUE(standby.is_object());
  EXPECT_EQ(standby["scheduler"]["active"], false) << standby.dump();
  EXPECT_NE(Get(second.port(), "/metrics").body.find("pgkeeper_scheduler_active 0\n"), std::string::npos);
  EXPECT_NE(Get(first.port(), "/metrics").body.find("pgkeeper_scheduler_active 1\n"), std::string::npos);

  ASSERT_TRUE(WaitFor([&] { return JobDone(first, "nightly"); }, 90s)) << first.Stop().All();
  // The standby shows the active serve's run from its record.
  EXPECT_TRUE(WaitFor([&] { return JobDone(second, "nightly"); }, 15s)) << second.StatusJson().dump();
  CliResult a = first.Stop();
  EXPECT_EQ(a.exit_code, 0) << a.All();
  EXPECT_TRUE(WaitFor([&] { return second.StatusJson()["scheduler"]["active"] == true; }, 15s))
      << second.StatusJson().dump();
  std::this_thread::sleep_for(3s);  // time enough for a wrongly repeated run to start
  EXPECT_EQ(ListBackups(repo).size(), 1u);
  EXPECT_EQ(RunRecords(repo, "nightly").size(), 1u);
  CliResult b = second.Stop();
  EXPECT_EQ(b.exit_code, 0) << b.All();
  EXPECT_NE(b.err.find("standing by: another serve runs the schedule"), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("took over the schedule"), std::string::npos) << b.err;
  EXPECT_EQ(b.err.find("job nightly: starting"), std::string::npos) << b.err;
  EXPECT_FALSE(std::filesystem::exists(repo + "/serve/lease.json")) << "released at a clean stop";
}

TEST(Serve, StatusPageRendersInChromium) {
  std::string chromium = FindOnPath("chromium");
  if (chromium.empty() && std::getenv("CI") != nullptr) FAIL() << "chromium is not installed under CI";
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (Debian package chromium)";
  std::string db = SmallDatabase("serve_page");
  std::string repo = TempPath("serve_page_repo");
  auto b = RunCli({"backup", "--db", UrlWithPassword(db), "--repo", repo, "--tag", "daily", "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.All();
  Serve serve("serve_page_cfg", UrlWithPassword(db), repo, JobToml("daily", "backup", "0 2 * * *"));
  ASSERT_TRUE(WaitFor([&] { return Get(serve.port(), "/").body.find("Recoverable to") != std::string::npos; }, 30s))
      << Get(serve.port(), "/").body;
  std::string dir = TempPath("serve_page_shot");
  std::filesystem::create_directories(dir);
  std::string png = dir + "/status.png";
  auto r = RunProcess({.argv = {chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                "--user-data-dir=" + dir + "/profile", "--screenshot=" + png, "--window-size=1280,900",
                                "http://127.0.0.1:" + std::to_string(serve.port()) + "/"},
                       .env = {{"HOME", dir}},
                       .capture = true});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0) << r->output;
  ASSERT_TRUE(std::filesystem::exists(png)) << r->output;
  auto bytes = fs::ReadFile(png);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // A blank 1280x900 page compresses to a few kB; text, tables and the timeline do not.
  EXPECT_GT(bytes->size(), 15000u) << png;
}

TEST(Serve, SigtermDuringABackupLeavesNoBackup) {
  std::string db = SmallDatabase("serve_term");
  std::string repo = TempPath("serve_term_repo");
  // Hold an exclusive lock: the job's backup waits on it, so it is surely running.
  pg::Connection locker = Connect(db);
  ASSERT_TRUE(locker.Exec("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;").ok());
  Serve serve("serve_term_cfg", UrlWithPassword(db), repo, JobToml("often", "backup", "* * * * *"),
              "2026-12-06T10:00:58Z");
  ASSERT_TRUE(WaitFor(
      [&] {
        nlohmann::json j = serve.Job("often");
        return j.is_object() && j["running"].get<bool>();
      },
      30s));
  // Until the backup has created the repository and one of its sessions waits for the lock.
  std::string waiting;
  EXPECT_TRUE(WaitFor(
      [&] {
        waiting = QueryValue(db,
                             "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                             "WHERE NOT l.granted AND d.datname = current_database() AND l.relation = 't'::regclass");
        return std::filesystem::exists(repo + "/pgkeeper.repo.json") && waiting != "0" &&
               waiting.rfind("ERROR", 0) != 0;
      },
      30s))
      << waiting;
  auto started = std::chrono::steady_clock::now();
  CliResult r = serve.Stop(SIGTERM);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
  EXPECT_TRUE(locker.Exec("ROLLBACK").ok());
  EXPECT_TRUE(ListBackups(repo).empty());
  auto records = RunRecords(repo, "often");
  ASSERT_EQ(records.size(), 1u) << r.err;
  EXPECT_EQ(records[0]["ok"], false);
  EXPECT_EQ(records[0]["interrupted"], true);
  EXPECT_EQ(records[0]["failures_total"], 0) << "a stop is not a failure";
}

// SIGHUP rereads the config's [serve] section: a job added to the file appears without a
// restart; a file that does not load is refused and the running jobs stay.
TEST(Serve, SighupReloadsTheJobsAndRefusesABrokenFile) {
  std::string db = SmallDatabase("srv_reload");
  std::string repo = TempPath("repo_reload");
  std::string nightly = JobToml("nightly", "backup", "0 3 1 1 *");
  Serve serve("serve_reload", UrlWithPassword(db), repo, nightly);
  ASSERT_TRUE(serve.Job("nightly").is_object()) << serve.StatusJson().dump();
  EXPECT_TRUE(serve.Job("weekly").is_null());

  std::ofstream(serve.config(), std::ios::trunc)
      << "[serve]\nrefresh_seconds = 1\n"
      << nightly << JobToml("weekly", "backup", "0 4 1 1 *", "[\"--tag\", \"weekly\"]");
  ASSERT_EQ(::kill(serve.pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitFor([&] { return serve.Job("weekly").is_object(); }, 10s)) << serve.StatusJson().dump();
  EXPECT_TRUE(serve.Running());

  std::ofstream(serve.config(), std::ios::trunc) << "[serve]\n" << JobToml("broken", "backup", "not a schedule");
  ASSERT_EQ(::kill(serve.pid(), SIGHUP), 0);
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(serve.Running());
  EXPECT_TRUE(serve.Job("weekly").is_object());
  EXPECT_TRUE(serve.Job("broken").is_null());
  CliResult r = serve.Stop();
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find("reloaded the configuration: 2 job(s)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("reload failed, the running configuration stays"), std::string::npos) << r.err;
}

TEST(Serve, JobTimeoutStopsItAndCountsAsAFailure) {
  std::string db = SmallDatabase("serve_timeout");
  std::string repo = TempPath("serve_timeout_repo");
  pg::Connection locker = Connect(db);  // the backup waits on this lock until it times out
  ASSERT_TRUE(locker.Exec("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;").ok());
  Serve serve("serve_timeout_cfg", UrlWithPassword(db), repo, JobToml("slow", "backup", "* * * * *") + "timeout = 2\n",
              "2026-12-06T10:00:58Z");
  ASSERT_TRUE(WaitFor([&] { return JobDone(serve, "slow"); }, 60s)) << serve.Stop().All();
  nlohmann::json job = serve.Job("slow");
  EXPECT_FALSE(job["last_ok"].get<bool>());
  EXPECT_NE(job["last_error"].get<std::string>().find("timed out after 2 s"), std::string::npos) << job.dump();
  EXPECT_EQ(job["failures_total"], 1);
  EXPECT_EQ(serve.Stop().exit_code, 0);
  EXPECT_TRUE(locker.Exec("ROLLBACK").ok());
  EXPECT_TRUE(ListBackups(repo).empty());
}

TEST(Serve, WebhookOnFailureThenRecovery) {
  httplib::Server hook;
  std::mutex mu;
  std::vector<nlohmann::json> posts;
  hook.Post("/hook/token123", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    posts.push_back(nlohmann::json::parse(req.body, nullptr, false));
    res.status = 200;
  });
  int hook_port = hook.bind_to_any_port("127.0.0.1");
  std::thread hook_thread([&] { hook.listen_after_bind(); });
  auto count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return posts.size();
  };
  std::string webhook = "webhook = \"http://127.0.0.1:" + std::to_string(hook_port) + "/hook/token123\"\n";
  std::string repo = TempPath("serve_hook_repo");
  // The database does not exist yet: the first backup fails.
  std::string db = "serve_hook_later";
  std::string url = UrlWithPassword(db);
  std::string jobs = JobToml("nightly", "backup", "0 2 * * *");
  {
    Serve serve("serve_hook_cfg1", url, repo, jobs, "2026-12-06T01:59:58Z", webhook);
    ASSERT_TRUE(WaitFor([&] { return count() >= 1; }, 60s)) << serve.Stop().All();
    CliResult r = serve.Stop();
    EXPECT_EQ(r.exit_code, 0) << r.All();
    EXPECT_NE(r.err.find(std::to_string(hook_port) + "/***"), std::string::npos)
        << "the log masks the webhook URL: " << r.err;
    EXPECT_EQ(r.err.find("token123"), std::string::npos) << r.err;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(posts.size(), 1u);
    EXPECT_EQ(posts[0]["event"], "failure");
    EXPECT_EQ(posts[0]["job"], "nightly");
    EXPECT_EQ(posts[0]["command"], "backup");
    EXPECT_FALSE(posts[0]["error"].get<std::string>().empty());
    EXPECT_FALSE(posts[0]["host"].get<std::string>().empty());
    EXPECT_EQ(posts[0].dump().find(Password()), std::string::npos) << posts[0].dump();
  }
  ASSERT_TRUE(Connect("postgres").Exec("CREATE DATABASE " + db).ok());
  // serve comes back a day later: the run for 02:00 was missed, and runs at start-up.
  {
    Serve serve("serve_hook_cfg2", url, repo, jobs, "2026-12-07T09:00:00Z", webhook);
    ASSERT_TRUE(WaitFor([&] { return count() >= 2; }, 60s)) << serve.Stop().All();
    EXPECT_EQ(serve.Stop().exit_code, 0);
  }
  hook.stop();
  hook_thread.join();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[1]["event"], "recovery");
  EXPECT_EQ(posts[1]["job"], "nightly");
  auto records = RunRecords(repo, "nightly");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["ok"], false);
  EXPECT_EQ(records[1]["ok"], true);
  EXPECT_EQ(records[1]["missed"], true);
  EXPECT_EQ(records[1]["scheduled"], "2026-12-07T02:00:00Z");
  EXPECT_EQ(records[1]["failures_total"], 1);
  EXPECT_EQ(ListBackups(repo).size(), 1u);
}

// The other job kinds run as real child processes (a drill into a scratch database on the
// server, verify, expire), and what they and the database report reaches /metrics and
// /ready: the drill's result and restore time, the migration version, a dirty migration
// and a schema that no longer matches the migrations both make serve not ready.
TEST(Serve, DrillVerifyAndExpireJobsRunAndMigrationsAndSchemaReachMetricsAndReady) {
  std::string db = CreateDatabase("serve_ops");
  std::string migrations = MakeFiles(
      "serve_ops_migrations",
      {{"000001_orders.up.sql",
        "CREATE TABLE orders (id int PRIMARY KEY, what text NOT NULL);"
        "INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 500) g;"},
       {"000001_orders.down.sql", "DROP TABLE orders;"},
       {"000002_index.up.sql", "CREATE INDEX orders_what ON orders (what);"},
       {"000002_index.down.sql", "DROP INDEX orders_what;"}});
  ASSERT_EQ(RunMigrate(db, migrations, {"up"}).exit_code, 0);
  std::string repo = TempPath("serve_ops_repo");
  for (int i = 0; i < 2; ++i) {
    auto b = RunCli({"backup", "--db", UrlWithPassword(db), "--repo", repo, "--tag", "daily", "--json"});
    ASSERT_EQ(b.exit_code, 0) << b.All();
  }
  ASSERT_EQ(ListBackups(repo).size(), 2u);
  std::string jobs = JobToml("drill", "drill", "1 * * * *", "[\"--target\", \"server\"]") +
                     JobToml("verify", "verify", "1 * * * *", "[\"latest\"]") +
                     JobToml("expire", "expire", "1 * * * *", "[\"--keep-last\", \"1\"]");
  // All three fire 2 s after start-up (test clock), side by side: expire removes the
  // older backup while the drill and verify read the newest.
  Serve serve("serve_ops_cfg", UrlWithPassword(db), repo, jobs, "2026-12-06T10:00:58Z",
              "schema_check_seconds = 10\n[migrations]\ndir = \"" + migrations + "\"\n");
  ASSERT_TRUE(WaitFor([&] { return JobDone(serve, "drill") && JobDone(serve, "verify"); }, 120s))
      << serve.Stop().All();
  for (const char* job : {"drill", "verify"}) {
    nlohmann::json j = serve.Job(job);
    EXPECT_TRUE(j["last_ok"].get<bool>()) << j.dump();
    auto records = RunRecords(repo, job);
    ASSERT_EQ(records.size(), 1u) << job;
    EXPECT_EQ(records[0]["exit_code"], 0) << records[0].dump();
  }
  std::string metrics;
  EXPECT_TRUE(WaitFor(
      [&] {
        metrics = Get(serve.port(), "/metrics").body;
        return metrics.find("pgkeeper_drill_last_success 1\n") != std::string::npos;
      },
      30s))
      << metrics;
  auto rto = MetricValue(metrics, "pgkeeper_drill_restore_seconds");
  ASSERT_TRUE(rto.has_value()) << metrics;
  EXPECT_GT(*rto, 0.0) << metrics;
  EXPECT_NE(metrics.find("\npgkeeper_drill_last_timestamp_seconds "), std::string::npos);
  EXPECT_NE(metrics.find("pgkeeper_migration_version 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("pgkeeper_migration_dirty 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("pgkeeper_schema_differences 0\n"), std::string::npos) << metrics;
  EXPECT_EQ(Get(serve.port(), "/ready").status, 200) << Get(serve.port(), "/ready").body;
  // The drill's scratch database is gone again.
  EXPECT_EQ(QueryValue("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgkeeper_drill%'"), "0");

  // Expire keeps the newest backup only.
  ASSERT_TRUE(WaitFor([&] { return JobDone(serve, "expire"); }, 60s)) << serve.Stop().All();
  EXPECT_TRUE(serve.Job("expire")["last_ok"].get<bool>()) << serve.Job("expire").dump();
  EXPECT_EQ(ListBackups(repo).size(), 1u);
  EXPECT_TRUE(WaitFor(
      [&] { return Get(serve.port(), "/metrics").body.find("pgkeeper_backups{type=\"logical\"} 1\n") != std::string::npos; },
      30s));

  // An index dropped by hand: the schema no longer matches the migrations at the next
  // comparison (schema_check_seconds), and serve is not ready, saying why.
  HttpResult ready;
  auto not_ready_because = [&](const std::string& reason, std::chrono::seconds timeout) {
    return WaitFor(
        [&] {
          ready = Get(serve.port(), "/ready");
          return ready.status == 503 && ready.body.find(reason) != std::string::npos;
        },
        timeout);
  };
  ASSERT_TRUE(Connect(db).Exec("DROP INDEX orders_what").ok());
  EXPECT_TRUE(not_ready_because("schema has", 40s)) << ready.body;
  std::string after = Get(serve.port(), "/metrics").body;
  EXPECT_EQ(after.find("pgkeeper_schema_differences 0\n"), std::string::npos) << after;
  EXPECT_NE(after.find("pgkeeper_schema_differences "), std::string::npos) << after;
  // A migration left dirty: seen at the next refresh (the migration state is read every
  // refresh_seconds, here 1 s), long before the next schema comparison.
  ASSERT_TRUE(Connect(db).Exec("UPDATE schema_migrations SET success = false, error = 'killed' WHERE version = 2").ok());
  EXPECT_TRUE(not_ready_because("dirty", 8s)) << ready.body;
  EXPECT_NE(Get(serve.port(), "/metrics").body.find("pgkeeper_migration_dirty 1\n"), std::string::npos);
  EXPECT_EQ(serve.Stop().exit_code, 0);
}

}  // namespace
}  // namespace pgk::test
