#include "harness/harness.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
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

CliResult RunCli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                 const std::string& cwd) {
  ProcessOptions po;
  po.argv = {BinaryPath()};
  po.argv.insert(po.argv.end(), args.begin(), args.end());
  po.env = env;
  po.unset_env = {"DATABASE_URL", "PGHOST",     "PGHOSTADDR", "PGPORT",    "PGUSER",         "PGPASSWORD",
                  "PGDATABASE",   "PGSERVICE",  "PGPASSFILE", "PGOPTIONS", "PGSERVICEFILE",  "PGCONNECT_TIMEOUT",
                  "PGKEEPER_ENCRYPTION_KEY"};
  po.env["NO_COLOR"] = "1";
  po.cwd = cwd.empty() ? TempPath("") : cwd;
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

}  // namespace pgk::test
