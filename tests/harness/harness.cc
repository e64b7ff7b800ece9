#include "harness/harness.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "common/process.h"
#include "demo/example_app.h"
#include "pg/conninfo.h"
#include "pg/quote.h"
#include "workload/seed.h"

namespace pgk::test {

namespace {

std::mutex g_mu;
std::unique_ptr<fs::TempDir> g_tmp;
std::unique_ptr<pg::LocalCluster> g_cluster;
std::atomic<int> g_counter{0};

fs::TempDir& Tmp() {
  if (!g_tmp) {
    auto t = fs::TempDir::Create("pgkeeper-test-");
    if (!t.ok()) {
      std::fprintf(stderr, "cannot create temp dir: %s\n", t.status().ToString().c_str());
      std::abort();
    }
    g_tmp = std::make_unique<fs::TempDir>(std::move(t).value());
    // Under root the clusters' server user (postgres) must pass through this directory.
    if (IsRoot()) ::chmod(g_tmp->path().c_str(), 0711);
  }
  return *g_tmp;
}

class ClusterEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_cluster) (void)g_cluster->Stop();
    g_cluster.reset();
    g_tmp.reset();
  }
};

[[maybe_unused]] auto* const g_env = ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);

}  // namespace

std::string TempPath(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_mu);
  return (Tmp().path() / name).string();
}

pg::LocalCluster& Cluster() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_cluster) {
    // synchronous_commit=off speeds up the many small commits of the tests without
    // changing anything `check` reports on.
    auto c = pg::LocalCluster::Open({.dir = Tmp().path() / "cluster", .settings = {"synchronous_commit=off"}});
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", c.status().ToString().c_str());
      std::abort();
    }
    Status s = (*c)->Init();
    if (s.ok()) s = (*c)->Start();
    if (!s.ok()) {
      std::fprintf(stderr, "cannot start the test cluster: %s\n", s.ToString().c_str());
      std::abort();
    }
    g_cluster = std::move(c).value();
  }
  return *g_cluster;
}

std::string ConnInfo(const std::string& db) { return Cluster().ConnInfo(db); }

std::string Password() {
  auto parsed = pg::ParseConninfo(Cluster().ConnInfo());
  return parsed.ok() ? (*parsed)["password"] : "";
}

std::string UrlWithPassword(const std::string& db) {
  return "postgresql://postgres:" + Password() + "@127.0.0.1:" + std::to_string(Cluster().port()) + "/" + db;
}

pg::Connection Connect(const std::string& db) {
  auto c = pg::Connection::Connect(ConnInfo(db));
  if (!c.ok()) {
    ADD_FAILURE() << c.status().ToString();
    std::abort();
  }
  return std::move(c).value();
}

std::string CreateDatabase(const std::string& prefix) {
  std::string name = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(g_counter++);
  Status s = Cluster().CreateDatabase(name);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return name;
}

std::string CreateExampleDatabase(const std::string& prefix, int positions) {
  std::string db = CreateDatabase(prefix);
  auto conn = Connect(db);
  auto applied = demo::ApplyExampleMigrations(conn, "");
  EXPECT_TRUE(applied.ok()) << applied.status().ToString();
  if (positions > 0) {
    auto st = workload::Seed(conn, {.positions = positions});
    EXPECT_TRUE(st.ok()) << st.status().ToString();
  }
  return db;
}

std::string BinaryPath() { return PGKEEPER_BINARY; }

const std::vector<std::string>& S3EnvVariables() {
  static const std::vector<std::string> names = {
      "PGKEEPER_S3_ENDPOINT", "AWS_ENDPOINT_URL",  "AWS_REGION",  "AWS_DEFAULT_REGION",          "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "PGKEEPER_S3_URI_STYLE",
      "AWS_CA_BUNDLE"};
  return names;
}

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    std::string dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "";
}

std::string MakeFiles(const std::string& name, const std::vector<std::pair<std::string, std::string>>& files) {
  std::string dir = TempPath(name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const auto& [f, text] : files) std::ofstream(dir + "/" + f) << text;
  return dir;
}

std::string QueryValue(const std::string& db, const std::string& sql) {
  auto v = Connect(db).QueryValue(sql);
  return v.ok() ? *v : "ERROR: " + v.status().message();
}

std::map<std::string, std::string> TableFingerprints(const std::string& db) {
  std::map<std::string, std::string> out;
  auto conn = Connect(db);
  auto tables = conn.Query(
      "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
      "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1");
  EXPECT_TRUE(tables.ok()) << tables.status().ToString();
  if (!tables.ok()) return out;
  for (int i = 0; i < tables->rows(); ++i) {
    std::string t = tables->GetString(i, 0);
    out[t] = QueryValue(db, "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') "
                            "FROM " + t + " t");
  }
  return out;
}

std::string LargeObjectFingerprint(const std::string& db) {
  return QueryValue(db, "SELECT coalesce(string_agg(oid::text || ':' || md5(lo_get(oid)), ',' ORDER BY oid), '') "
                        "FROM pg_largeobject_metadata");
}

CliResult RunMigrate(const std::string& db, const std::string& dir, const std::vector<std::string>& args) {
  std::vector<std::string> full = {"migrate", "--dir", dir, "--db", UrlWithPassword(db)};
  full.insert(full.end(), args.begin(), args.end());
  return RunCli(full);
}

nlohmann::json CliResult::Json() const {
  try {
    return nlohmann::json::parse(out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\n--- stdout ---\n" << out << "\n--- stderr ---\n" << err;
    return nullptr;
  }
}

namespace {

ProcessOptions CliOptions(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                          const std::string& cwd) {
  ProcessOptions po;
  po.argv = {BinaryPath()};
  po.argv.insert(po.argv.end(), args.begin(), args.end());
  po.env = env;
  po.unset_env = {"DATABASE_URL", "PGHOST",     "PGHOSTADDR", "PGPORT",    "PGUSER",         "PGPASSWORD",
                  "PGDATABASE",   "PGSERVICE",  "PGPASSFILE", "PGOPTIONS", "PGSERVICEFILE",  "PGCONNECT_TIMEOUT",
                  "PGKEEPER_ENCRYPTION_KEY"};
  // Nor S3 endpoints or credentials: tests pass their server's in `env` (harness/s3.h).
  po.unset_env.insert(po.unset_env.end(), S3EnvVariables().begin(), S3EnvVariables().end());
  po.env["NO_COLOR"] = "1";
  po.cwd = cwd.empty() ? TempPath("") : cwd;
  return po;
}

}  // namespace

CliResult RunCli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                 const std::string& cwd) {
  ProcessOptions po = CliOptions(args, env, cwd);
  po.capture = true;
  std::string err_file = TempPath("stderr." + std::to_string(g_counter++));
  po.stderr_file = err_file;
  CliResult r;
  auto p = Process::Spawn(po);
  if (!p.ok()) {
    ADD_FAILURE() << p.status().ToString();
    return r;
  }
  r.out = p->ReadAllOutput();
  r.exit_code = p->Wait();
  auto e = fs::ReadFile(err_file);
  if (e.ok()) r.err = *e;
  ::unlink(err_file.c_str());
  return r;
}

CliResult RunCliOnTerminal(const std::vector<std::string>& args, const std::string& input,
                           const std::map<std::string, std::string>& env) {
  ProcessOptions po = CliOptions(args, env, "");
  std::vector<char*> argv;
  for (auto& a : po.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  CliResult r;
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) {
    ADD_FAILURE() << "forkpty failed";
    return r;
  }
  if (pid == 0) {
    for (const auto& name : po.unset_env) ::unsetenv(name.c_str());
    for (const auto& [k, v] : po.env) ::setenv(k.c_str(), v.c_str(), 1);
    if (::chdir(po.cwd.c_str()) != 0) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  // The terminal buffers the typed lines until the program reads them, as a person who
  // types ahead; then Ctrl-D, so a question nobody answered reads end of input instead of
  // waiting. The program's own output is drained until it closes the terminal.
  std::string typed = input + "\x04";
  size_t written = 0;
  while (written < typed.size()) {
    ssize_t n = ::write(master, typed.data() + written, typed.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  char buf[4096];
  for (;;) {
    pollfd pfd{.fd = master, .events = POLLIN, .revents = 0};
    if (::poll(&pfd, 1, 600'000) == 0) {
      ADD_FAILURE() << "no output for 10 minutes on the terminal; screen so far:\n" << r.out;
      ::kill(pid, SIGKILL);
      break;
    }
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) {
      r.out.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO: the program exited and the terminal closed
    }
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::optional<double> MetricValue(const std::string& exposition, const std::string& name) {
  std::string lines = "\n" + exposition;  // every sample line now starts after a newline
  size_t at = lines.find("\n" + name + " ");
  if (at == std::string::npos) return std::nullopt;
  return std::stod(lines.substr(at + name.size() + 2));
}

BackgroundCli StartCli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  BackgroundCli b;
  int n = g_counter++;
  b.out_file = TempPath("stdout." + std::to_string(n));
  b.err_file = TempPath("stderr." + std::to_string(n));
  ProcessOptions po = CliOptions(args, env, "");
  po.output_file = b.out_file;
  po.stderr_file = b.err_file;
  po.parent_death_signal = SIGKILL;
  auto p = Process::Spawn(po);
  if (!p.ok()) {
    ADD_FAILURE() << p.status().ToString();
    return b;
  }
  b.process = std::make_unique<Process>(std::move(p).value());
  return b;
}

CliResult BackgroundCli::Wait() {
  CliResult r;
  if (!process) return r;
  r.exit_code = process->Wait();
  process.reset();
  for (auto [file, text] : {std::pair{&out_file, &r.out}, std::pair{&err_file, &r.err}}) {
    auto content = fs::ReadFile(*file);
    if (content.ok()) *text = *content;
    ::unlink(file->c_str());
  }
  return r;
}

}  // namespace pgk::test
