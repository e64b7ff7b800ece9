#include "harness/archiving.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/fs.h"
#include "demo/example_app.h"
#include "pg/conninfo.h"
#include "workload/seed.h"

namespace pgk::test {

std::string ServerOwnedDir(const std::string& name) {
  std::string dir = TempPath(name);
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  if (IsRoot()) {
    auto pg = LookupUser("postgres");
    if (pg.ok()) {
      EXPECT_EQ(::chown(dir.c_str(), pg->uid, pg->gid), 0);
    }
  }
  return dir;
}

const std::string& SharedRepo() {
  static const std::string repo = ServerOwnedDir("shared-repo");
  return repo;
}

pg::LocalCluster& SharedSource() {
  static std::unique_ptr<pg::LocalCluster> cluster =
      StartArchivingCluster("shared-src", SharedRepo(), {"track_commit_timestamp=on"});
  return *cluster;
}

std::unique_ptr<pg::LocalCluster> StartArchivingCluster(const std::string& name, const std::string& repo,
                                                        const std::vector<std::string>& extra) {
  std::vector<std::string> settings = {"archive_mode=on", "wal_level=replica",
                                       "archive_command='" + BinaryPath() + "' wal-push %p --repo '" + repo + "'"};
  settings.insert(settings.end(), extra.begin(), extra.end());
  auto c = pg::LocalCluster::Open({.dir = TempPath(name), .settings = settings});
  if (!c.ok()) {
    ADD_FAILURE() << c.status().ToString();
    std::abort();
  }
  Status s = (*c)->Init();
  if (s.ok()) s = (*c)->Start();
  if (!s.ok()) {
    ADD_FAILURE() << s.ToString();
    std::abort();
  }
  auto conn = MustConnect((*c)->ConnInfo());
  SwitchAndWaitArchived(conn);
  return std::move(c).value();
}

pg::Connection MustConnect(const std::string& conninfo) {
  auto c = pg::Connection::Connect(conninfo);
  if (!c.ok()) {
    ADD_FAILURE() << c.status().ToString();
    std::abort();
  }
  return std::move(c).value();
}

std::string ValueOf(pg::Connection& c, const std::string& sql) {
  auto v = c.QueryValue(sql);
  return v.ok() ? *v : "ERROR: " + v.status().message();
}

void SwitchAndWaitArchived(pg::Connection& c) {
  std::string name = ValueOf(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
  ASSERT_TRUE(c.Exec("SELECT pg_switch_wal()").ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string last = ValueOf(c, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
    if (!last.empty() && last.substr(0, 24) >= name) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL() << "segment " << name << " was not archived; archiver: "
         << ValueOf(c,
                    "SELECT failed_count || ' failures, last ' || coalesce(last_failed_wal, '') FROM pg_stat_archiver");
}

CliResult RunCliAsServerUser(const std::vector<std::string>& args) {
  ProcessOptions po;
  po.argv = {BinaryPath()};
  po.argv.insert(po.argv.end(), args.begin(), args.end());
  po.unset_env = {"DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGKEEPER_ENCRYPTION_KEY"};
  po.env["NO_COLOR"] = "1";
  po.cwd = "/";
  po.capture = true;
  if (IsRoot()) {
    auto pg = LookupUser("postgres");
    if (pg.ok()) po.run_as = *pg;
  }
  static int n = 0;
  po.stderr_file = TempPath("server-user-stderr." + std::to_string(n++));
  CliResult r;
  auto p = Process::Spawn(po);
  if (!p.ok()) {
    ADD_FAILURE() << p.status().ToString();
    return r;
  }
  r.out = p->ReadAllOutput();
  r.exit_code = p->Wait();
  auto e = fs::ReadFile(po.stderr_file);
  if (e.ok()) r.err = *e;
  ::unlink(po.stderr_file.c_str());
  return r;
}

ProcessResult RunAsServerUser(std::vector<std::string> argv, const std::map<std::string, std::string>& env) {
  ProcessOptions po{.argv = std::move(argv), .env = env, .capture = true};
  po.cwd = "/";
  if (IsRoot()) {
    auto pg = LookupUser("postgres");
    if (pg.ok()) po.run_as = *pg;
  }
  auto r = RunProcess(po);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ProcessResult{-1, r.status().ToString()};
}

void StopServer(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGINT);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (::kill(pid, 0) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string PasswordOf(const pg::LocalCluster& c) {
  auto parsed = pg::ParseConninfo(c.ConnInfo());
  return parsed.ok() ? (*parsed)["password"] : "";
}

std::string RestoredConninfo(const pg::LocalCluster& source, int port, const std::string& db) {
  return pg::BuildConninfo({{"host", "127.0.0.1"},
                            {"port", std::to_string(port)},
                            {"user", "postgres"},
                            {"password", PasswordOf(source)},
                            {"dbname", db}});
}

std::string NewDatabase(pg::LocalCluster& cluster, const std::string& prefix) {
  static int n = 0;
  std::string db = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
  EXPECT_TRUE(cluster.CreateDatabase(db).ok());
  return db;
}

void DatabaseWithCorruptPage(const std::string& prefix, std::string* db, std::string* relation_path) {
  *db = NewDatabase(SharedSource(), prefix);
  auto conn = MustConnect(SharedSource().ConnInfo(*db));
  // One statement each: VACUUM refuses to run inside a multi-statement query.
  for (const char* sql : {"CREATE TABLE victim (id int, pad text)",
                          "INSERT INTO victim SELECT g, repeat('x', 200) FROM generate_series(1, 200) g",
                          "VACUUM FREEZE victim", "CHECKPOINT"}) {
    Status s = conn.Exec(sql);
    ASSERT_TRUE(s.ok()) << sql << ": " << s.ToString();
  }
  *relation_path = ValueOf(conn, "SELECT pg_relation_filepath('victim')");
  std::fstream f(SharedSource().data_dir().string() + "/" + *relation_path,
                 std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << *relation_path;
  f.seekp(8192 + 4000);
  f.write("CORRUPTED", 9);
}

std::string NewExampleDatabase(pg::LocalCluster& cluster, const std::string& prefix, int positions) {
  std::string db = NewDatabase(cluster, prefix);
  auto conn = MustConnect(cluster.ConnInfo(db));
  EXPECT_TRUE(demo::ApplyExampleMigrations(conn, "").ok());
  EXPECT_TRUE(workload::Seed(conn, {.positions = positions}).ok());
  EXPECT_TRUE(conn.Exec("CREATE TABLE blobs (id int PRIMARY KEY, big text);"
                        "INSERT INTO blobs SELECT g, repeat(md5(g::text), 2000) FROM generate_series(1, 20) g;"
                        "SELECT lo_from_bytea(0, 'large object bytes');"
                        "CREATE UNLOGGED TABLE scratch (x int); INSERT INTO scratch SELECT generate_series(1, 100)")
                  .ok());
  return db;
}

RestoredServer RestorePhysicalAndStart(const std::string& repo, const std::string& name,
                                       const std::vector<std::string>& extra) {
  RestoredServer r;
  r.pgdata = TempPath(name);
  auto port = pg::FindFreePort();
  EXPECT_TRUE(port.ok());
  r.port = *port;
  std::vector<std::string> args = {"restore",         "--repo",  repo,     "--pgdata",
                                   r.pgdata,          "--start", "--port", std::to_string(r.port),
                                   "--start-timeout", "120",     "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto res = RunCli(args);
  EXPECT_EQ(res.exit_code, 0) << res.out << res.err;
  if (res.exit_code != 0) return r;
  r.report = res.Json();
  if (r.report["started"].is_object()) r.pid = r.report["started"]["pid"].get<pid_t>();
  return r;
}

std::map<std::string, std::string> PermanentTableFingerprints(const std::string& conninfo) {
  std::map<std::string, std::string> out;
  auto conn = MustConnect(conninfo);
  auto tables = conn.Query(
      "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'p' AND n.nspname NOT IN ('pg_catalog', "
      "'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1");
  EXPECT_TRUE(tables.ok()) << tables.status().ToString();
  if (!tables.ok()) return out;
  for (int i = 0; i < tables->rows(); ++i) {
    std::string t = tables->GetString(i, 0);
    out[t] =
        ValueOf(conn, "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM " +
                          t + " t");
  }
  out["<large objects>"] =
      ValueOf(conn,
              "SELECT coalesce(string_agg(oid::text || ':' || md5(lo_get(oid)), ',' ORDER BY oid), '') "
              "FROM pg_largeobject_metadata");
  return out;
}

}  // namespace pgk::test
