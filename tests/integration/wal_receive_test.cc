// wal-receive against a real server: segments streamed into the repository come back
// byte-identical through wal-fetch, a kill -9 resumes without a gap, --synchronous holds
// commits until their WAL is fsynced in the spool (RPO zero), and the refusals (another
// cluster's archive, a second receiver on one spool).
//
// The cluster is this binary's own: synchronous_standby_names is changed by a test, and
// archive_mode stays off (the receiver is the only thing archiving). The receiver runs
// as root (the test's user); the server needs no access to the spool or the repository.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/hash.h"
#include "common/process.h"
#include "harness/archiving.h"
#include "harness/harness.h"
#include "harness/s3.h"
#include "pg/conninfo.h"
#include "pg/local_cluster.h"
#include "repo/repository.h"
#include "repo/wal_info.h"

namespace pgk::test {

namespace {

namespace stdfs = std::filesystem;
using Clock = std::chrono::steady_clock;

pg::LocalCluster& RecvCluster() {
  static std::unique_ptr<pg::LocalCluster> cluster = [] {
    auto c =
        pg::LocalCluster::Open({.dir = TempPath("recvcluster"),
                                .settings = {"wal_level=replica", "max_wal_senders=10", "max_replication_slots=10"}});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    Status s = (*c)->Init();
    if (s.ok()) s = (*c)->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::move(c).value();
  }();
  return *cluster;
}

pg::Connection Connect() { return MustConnect(RecvCluster().ConnInfo()); }

std::map<std::string, std::string> Env() { return {{"PGPASSFILE", RecvCluster().pgpass_path().string()}}; }

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Names of the WAL files stored in `repo` (what precedes "-<sha256>").
std::set<std::string> Stored(const std::string& repo) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : stdfs::recursive_directory_iterator(repo + "/wal", ec)) {
    std::string n = e.path().filename().string();
    if (e.is_regular_file() && n != "archive.json" && n.find('-') != std::string::npos)
      out.insert(n.substr(0, n.find('-')));
  }
  return out;
}

template <typename F>
bool WaitFor(F done, int timeout_s = 30) {
  auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// Writes a little WAL, switches segments and returns the name of the one switched out.
std::string SwitchSegment(pg::Connection& c) {
  EXPECT_TRUE(c.Exec("CREATE TABLE IF NOT EXISTS t (x text); INSERT INTO t VALUES ('x')").ok());
  return ValueOf(c, "SELECT pg_walfile_name(pg_switch_wal())");
}

struct Receiver {
  std::string slot, app, spool, repo;
  BackgroundCli cli;

  static Receiver Start(const std::string& tag, std::vector<std::string> extra = {}) {
    Receiver r{"recv_" + tag, "pgkeeper_" + tag, TempPath("spool-" + tag), TempPath("repo-" + tag), {}};
    r.cli = r.Run(extra);
    return r;
  }
  BackgroundCli Run(const std::vector<std::string>& extra) const {
    std::vector<std::string> args = {
        "wal-receive",        "--db", RecvCluster().Url(), "--repo", repo, "--spool", spool, "--slot", slot,
        "--application-name", app,    "--status-interval", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return StartCli(args, Env());
  }
  // Until the server lists it as streaming.
  bool WaitStreaming(pg::Connection& c) const {
    return WaitFor([&] {
      return ValueOf(c, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND application_name = '" +
                          app + "'") == "1";
    });
  }
  CliResult Stop(int sig = SIGTERM) {
    if (!cli.process) return {};
    cli.process->Signal(sig);
    return cli.Wait();
  }
  void DropSlot(pg::Connection& c) const {
    WaitFor(
        [&] {
          return ValueOf(c, "SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + slot + "'") ==
                 "0";
        },
        10);
    (void)c.Exec("SELECT pg_drop_replication_slot('" + slot + "')");
  }
  // The spool's unfinished segments.
  std::vector<std::string> Partials() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : stdfs::recursive_directory_iterator(spool, ec)) {
      if (e.path().filename().string().ends_with(".partial") && e.path().parent_path().filename() != "ready") {
        out.push_back(e.path().string());
      }
    }
    return out;
  }
};

}  // namespace

TEST(WalReceive, StreamedSegmentsFetchBackByteIdentical) {
  auto c = Connect();
  // The password in the URL must not appear in anything the receiver prints.
  auto settings = pg::ParseConninfo(RecvCluster().ConnInfo());
  ASSERT_TRUE(settings.ok());
  std::string password = (*settings)["password"];
  ASSERT_FALSE(password.empty());
  std::string url =
      "postgresql://postgres:" + password + "@127.0.0.1:" + std::to_string(RecvCluster().port()) + "/postgres";
  Receiver r{"recv_basic", "pgkeeper_basic", TempPath("spool-basic"), TempPath("repo-basic"), {}};
  r.cli = StartCli({"wal-receive", "--db", url, "--repo", r.repo, "--spool", r.spool, "--slot", r.slot,
                    "--application-name", r.app, "--status-interval", "1"});
  ASSERT_TRUE(r.WaitStreaming(c)) << ReadBytes(r.cli.err_file);
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) names.push_back(SwitchSegment(c));
  ASSERT_TRUE(WaitFor([&] { return Stored(r.repo).count(names.back()) == 1; })) << ReadBytes(r.cli.err_file);
  for (const auto& n : names) {
    std::string dest = TempPath("fetched-" + n);
    auto f = RunCli({"wal-fetch", n, dest, "--repo", r.repo});
    ASSERT_EQ(f.exit_code, 0) << f.All();
    std::string original = ReadBytes((RecvCluster().data_dir() / "pg_wal" / n).string());
    ASSERT_EQ(original.size(), 16u << 20);
    EXPECT_EQ(Sha256Hex(ReadBytes(dest)), Sha256Hex(original)) << n;
  }
  // archive_command pushing the server's own copy into the same archive: the same
  // contents, so "already archived", and nothing stored twice.
  auto push = RunCli({"wal-push", "pg_wal/" + names[0], "--repo", r.repo, "-v"}, {}, RecvCluster().data_dir().string());
  EXPECT_EQ(push.exit_code, 0) << push.All();
  EXPECT_NE(push.err.find("already archived"), std::string::npos) << push.err;
  size_t copies = 0;
  for (const auto& e : stdfs::recursive_directory_iterator(r.repo + "/wal")) {
    copies += e.path().filename().string().starts_with(names[0] + "-") ? 1 : 0;
  }
  EXPECT_EQ(copies, 1u);
  // The server sees the receiver, and wal status reports it.
  auto st = RunCli({"wal", "status", "--db", RecvCluster().Url(), "--slot", r.slot, "--json"}, Env());
  auto j = st.Json();
  ASSERT_TRUE(j["receiver"].is_object()) << st.All();
  EXPECT_TRUE(j["receiver"]["active"].get<bool>()) << j.dump();
  EXPECT_EQ(j["receiver"]["application_name"], r.app);
  EXPECT_EQ(j["receiver"]["sync_state"], "async");
  // Some WAL in the next segment, received (the write position is reported each second).
  ASSERT_TRUE(c.Exec("INSERT INTO t VALUES ('after the switches')").ok());
  std::string now = ValueOf(c, "SELECT pg_current_wal_lsn()::text");
  ASSERT_TRUE(WaitFor([&] {
    return ValueOf(c, "SELECT count(*) FROM pg_stat_replication WHERE application_name = '" + r.app +
                        "' AND write_lsn >= '" + now + "'") == "1";
  })) << ReadBytes(r.cli.err_file);
  // SIGTERM: an orderly stop, exit 0, the partial segment kept in the spool.
  auto res = r.Stop();
  EXPECT_EQ(res.exit_code, 0) << res.All();
  EXPECT_EQ(r.Partials().size(), 1u);
  EXPECT_EQ(res.All().find(password), std::string::npos) << "password leaked: " << res.All();
  EXPECT_NE(res.err.find("postgresql://postgres:***@"), std::string::npos) << res.err;
  // Stopped: wal status says nothing streams from the slot.
  ASSERT_TRUE(WaitFor(
      [&] { return ValueOf(c, "SELECT active FROM pg_replication_slots WHERE slot_name = '" + r.slot + "'") == "f"; }));
  st = RunCli({"wal", "status", "--db", RecvCluster().Url(), "--slot", r.slot, "--json"}, Env());
  EXPECT_EQ(st.exit_code, 1) << st.All();
  EXPECT_FALSE(st.Json()["receiver"]["active"].get<bool>());
  auto drop = RunCli({"wal-receive", "--db", RecvCluster().Url(), "--slot", r.slot, "--drop-slot"}, Env());
  EXPECT_EQ(drop.exit_code, 0) << drop.All();
  EXPECT_EQ(ValueOf(c, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + r.slot + "'"), "0");
}

// The receiver's repository on S3: completed segments are uploaded as the posix driver
// stores them, wal-fetch gets them back byte-identical, and the secret key never shows.
TEST(WalReceive, StreamsIntoAnS3Repository) {
  auto c = Connect();
  std::string bucket = S3().NewBucket("walrecv");
  ASSERT_FALSE(bucket.empty());
  const std::string secret = "walrecv-secret-5e1d7b";
  auto env = S3().Env();
  env["AWS_SECRET_ACCESS_KEY"] = secret;
  auto fetch_env = env;
  for (const auto& [k, v] : Env()) env[k] = v;
  Receiver r{"recv_s3", "pgkeeper_s3", TempPath("spool-s3"), "s3://" + bucket + "/wal", {}};
  r.cli = StartCli({"wal-receive", "--db", RecvCluster().Url(), "--repo", r.repo, "--spool", r.spool, "--slot", r.slot,
                    "--application-name", r.app, "--status-interval", "1"},
                   env);
  ASSERT_TRUE(r.WaitStreaming(c)) << ReadBytes(r.cli.err_file);
  std::vector<std::string> names;
  for (int i = 0; i < 2; ++i) names.push_back(SwitchSegment(c));
  for (const auto& n : names) {
    std::string dest = TempPath("fetched-s3-" + n);
    CliResult f;
    ASSERT_TRUE(WaitFor([&] {
      f = RunCli({"wal-fetch", n, dest, "--repo", r.repo}, fetch_env);
      return f.exit_code == 0;
    })) << f.All() << ReadBytes(r.cli.err_file);
    std::string original = ReadBytes((RecvCluster().data_dir() / "pg_wal" / n).string());
    ASSERT_EQ(original.size(), 16u << 20);
    EXPECT_EQ(Sha256Hex(ReadBytes(dest)), Sha256Hex(original)) << n;
  }
  auto res = r.Stop();
  EXPECT_EQ(res.exit_code, 0) << res.All();
  EXPECT_EQ(res.All().find(secret), std::string::npos) << res.All();
  r.DropSlot(c);
}

TEST(WalReceive, ResumesAfterKill9WithoutAGap) {
  auto c = Connect();
  Receiver r = Receiver::Start("kill");
  ASSERT_TRUE(r.WaitStreaming(c)) << ReadBytes(r.cli.err_file);
  std::string first = SwitchSegment(c);
  std::string second = SwitchSegment(c);
  ASSERT_TRUE(WaitFor([&] { return Stored(r.repo).count(second) == 1; })) << ReadBytes(r.cli.err_file);
  // Mid-segment: some WAL of the current segment is in the spool only.
  ASSERT_TRUE(c.Exec("INSERT INTO t SELECT 'row ' || g FROM generate_series(1, 1000) g").ok());
  r.Stop(SIGKILL);
  // While it is down the server moves on; the slot keeps the WAL.
  std::string while_down = SwitchSegment(c);
  SwitchSegment(c);
  r.cli = r.Run({});
  std::string last = SwitchSegment(c);
  ASSERT_TRUE(WaitFor([&] { return Stored(r.repo).count(last) == 1; })) << ReadBytes(r.cli.err_file);
  auto res = r.Stop();
  EXPECT_EQ(res.exit_code, 0) << res.All();
  EXPECT_EQ(res.err.find("different contents"), std::string::npos) << res.err;
  EXPECT_EQ(res.err.find("error:"), std::string::npos) << res.err;
  // Every segment from the first one streamed to the last, none missing.
  auto stored = Stored(r.repo);
  ASSERT_TRUE(stored.count(first) && stored.count(while_down));
  auto segno = [](const std::string& n) {
    return std::stoull(n.substr(8, 8), nullptr, 16) * 256 + std::stoull(n.substr(16), nullptr, 16);
  };
  uint64_t lo = segno(first), hi = segno(last);
  for (uint64_t s = lo; s <= hi; ++s) {
    // 16 MB segments: 256 per "log".
    char name[25];
    std::snprintf(name, sizeof name, "%08X%08X%08X", 1u, static_cast<unsigned>(s / 256),
                  static_cast<unsigned>(s % 256));
    EXPECT_EQ(stored.count(name), 1u) << "missing " << name;
  }
  auto st = RunCli({"wal", "status", "--db", RecvCluster().Url(), "--repo", r.repo, "--slot", r.slot, "--json"}, Env());
  EXPECT_TRUE(st.Json()["archive"]["gaps"].empty()) << st.out;
  r.DropSlot(c);
}

TEST(WalReceive, SynchronousHoldsCommitsUntilTheSpoolHasTheirWal) {
  auto c = Connect();
  Receiver r{"recv_sync", "pgkeeper_sync", TempPath("spool-sync"), TempPath("repo-sync"), {}};
  ASSERT_TRUE(c.Exec("ALTER SYSTEM SET synchronous_standby_names = '" + r.app + "'").ok());
  ASSERT_TRUE(c.Exec("SELECT pg_reload_conf()").ok());
  struct Reset {
    ~Reset() {
      auto c2 = Connect();
      (void)c2.Exec("ALTER SYSTEM RESET synchronous_standby_names");
      (void)c2.Exec("SELECT pg_reload_conf()");
    }
  } reset;
  r.cli = r.Run({"--synchronous"});
  ASSERT_TRUE(r.WaitStreaming(c)) << ReadBytes(r.cli.err_file);
  ASSERT_TRUE(WaitFor([&] {
    return ValueOf(c, "SELECT sync_state FROM pg_stat_replication WHERE application_name = '" + r.app + "'") == "sync";
  }));
  // A commit completes while the receiver runs, and its WAL is in the spool already.
  std::string marker = "rpo-zero-" + RandomHex(8);
  ASSERT_TRUE(c.Exec("CREATE TABLE IF NOT EXISTS sync_t (x text)").ok());
  auto t0 = Clock::now();
  ASSERT_TRUE(c.Exec("SET statement_timeout = '20s'; INSERT INTO sync_t VALUES ('" + marker + "')").ok());
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  bool in_spool = false;
  for (const auto& p : r.Partials()) in_spool = in_spool || ReadBytes(p).find(marker) != std::string::npos;
  EXPECT_TRUE(in_spool) << "the committed row's WAL is not in the spool's partial segment";
  auto res = r.Stop();
  EXPECT_EQ(res.exit_code, 0) << res.All();
  // Without the receiver a commit waits (and is cancelled here after 2 s).
  PGconn* raw = c.raw();
  ASSERT_EQ(PQsendQuery(raw, ("INSERT INTO sync_t VALUES ('" + marker + "-after')").c_str()), 1);
  bool completed = WaitFor(
      [&] {
        PQconsumeInput(raw);
        return PQisBusy(raw) == 0;
      },
      2);
  EXPECT_FALSE(completed) << "a commit completed with the synchronous receiver stopped";
  c.Cancel();
  while (PGresult* res2 = PQgetResult(raw)) PQclear(res2);
  r.DropSlot(c);
}

TEST(WalReceive, RefusesAnotherClustersArchive) {
  std::string repo = TempPath("repo-foreign");
  {
    auto rp = repo::Repository::Open({.url = repo, .create = true});
    ASSERT_TRUE(rp.ok()) << rp.status().ToString();
    repo::WalArchiveInfo info;
    info.system_identifier = "1234567890123456789";
    info.wal_segment_size = 16u << 20;
    info.created = "2026-01-01T00:00:00Z";
    ASSERT_TRUE((*rp)->storage().Put(repo::kWalArchiveInfoPath, repo::SerializeWalArchiveInfo(info)).ok());
  }
  auto r = RunCli({"wal-receive", "--db", RecvCluster().Url(), "--repo", repo, "--spool", TempPath("spool-foreign"),
                   "--slot", "recv_foreign", "--no-loop"},
                  Env());
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("two clusters writing one repository"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1234567890123456789"), std::string::npos) << r.err;
  EXPECT_TRUE(Stored(repo).empty());
}

TEST(WalReceive, RefusesASecondReceiverOnTheSameSpool) {
  auto c = Connect();
  Receiver a = Receiver::Start("first");
  ASSERT_TRUE(a.WaitStreaming(c)) << ReadBytes(a.cli.err_file);
  auto b = RunCli({"wal-receive", "--db", RecvCluster().Url(), "--repo", a.repo, "--spool", a.spool, "--slot",
                   "recv_second", "--no-loop"},
                  Env());
  EXPECT_EQ(b.exit_code, 2) << b.All();
  EXPECT_NE(b.err.find("another wal-receive (pid " + std::to_string(a.cli.process->pid()) + ")"), std::string::npos)
      << b.err;
  // It touched nothing on the server.
  EXPECT_EQ(ValueOf(c, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'recv_second'"), "0");
  auto res = a.Stop(SIGINT);
  EXPECT_EQ(res.exit_code, 0) << res.All();
  a.DropSlot(c);
}

TEST(WalReceive, NoCreateSlotRefusesAMissingSlot) {
  auto r = RunCli({"wal-receive", "--db", RecvCluster().Url(), "--repo", TempPath("repo-noslot"), "--spool",
                   TempPath("spool-noslot"), "--slot", "recv_missing", "--no-create-slot", "--no-loop"},
                  Env());
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("replication slot recv_missing does not exist"), std::string::npos) << r.err;
  // --create-slot makes it (and exits); then it is there for a receiver to use.
  r = RunCli({"wal-receive", "--db", RecvCluster().Url(), "--slot", "recv_missing", "--create-slot"}, Env());
  EXPECT_EQ(r.exit_code, 0) << r.All();
  auto c = Connect();
  EXPECT_EQ(ValueOf(c, "SELECT restart_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = 'recv_missing'"), "t");
  (void)c.Exec("SELECT pg_drop_replication_slot('recv_missing')");
}

TEST(WalReceive, NoLoopExitsWhenTheServerIsUnreachable) {
  auto port = pg::FindFreePort();
  ASSERT_TRUE(port.ok());
  auto r = RunCli({"wal-receive", "--db", "postgresql://postgres@127.0.0.1:" + std::to_string(*port) + "/postgres",
                   "--repo", TempPath("repo-unreachable"), "--spool", TempPath("spool-unreachable"), "--no-loop"});
  EXPECT_EQ(r.exit_code, 3) << r.All();
  EXPECT_NE(r.err.find("not listening"), std::string::npos) << r.err;
}

// A standby of the test cluster, made with pg_basebackup and run as the server's user;
// the receiver streams from it (cascading), then it is promoted.
struct Standby {
  std::string dir, pgdata;
  int port = 0;
  std::unique_ptr<Process> server;
  ~Standby() {
    if (server) {
      server->Signal(SIGINT);
      server->Wait();
    }
  }
};

std::optional<UserInfo> ServerUser() {
  if (!IsRoot()) return std::nullopt;
  auto u = LookupUser("postgres");
  return u.ok() ? std::optional<UserInfo>(*u) : std::nullopt;
}

TEST(WalReceive, FollowsATimelineSwitchAndArchivesTheHistory) {
  auto c = Connect();
  Standby sb;
  sb.dir = TempPath("standby");
  stdfs::create_directories(sb.dir);
  ::chmod(sb.dir.c_str(), 0700);
  if (auto u = ServerUser()) {
    ASSERT_EQ(::chown(sb.dir.c_str(), u->uid, u->gid), 0);
  }
  sb.pgdata = sb.dir + "/data";
  auto port = pg::FindFreePort();
  ASSERT_TRUE(port.ok());
  sb.port = *port;
  std::map<std::string, std::string> pw = {{"PGPASSWORD", PasswordOf(RecvCluster())}};
  ProcessOptions bb{.argv = {RecvCluster().binaries().Path("pg_basebackup"), "-h", "127.0.0.1", "-p",
                             std::to_string(RecvCluster().port()), "-U", "postgres", "-D", sb.pgdata, "-R", "-X",
                             "stream", "-c", "fast"},
                    .env = pw,
                    .capture = true};
  bb.cwd = "/";
  bb.run_as = ServerUser();
  auto made = RunProcess(bb);
  ASSERT_TRUE(made.ok() && made->exit_code == 0) << (made.ok() ? made->output : made.status().ToString());
  ProcessOptions run{
      .argv = {RecvCluster().binaries().Path("postgres"), "-D", sb.pgdata, "-p", std::to_string(sb.port), "-c",
               "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "archive_mode=off"},
      .env = pw};
  run.cwd = "/";
  run.run_as = ServerUser();
  run.output_file = sb.dir + "/log";
  run.parent_death_signal = SIGINT;
  auto server = Process::Spawn(run);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  sb.server = std::make_unique<Process>(std::move(server).value());
  std::string standby_conninfo = "host=127.0.0.1 port=" + std::to_string(sb.port) +
                                 " user=postgres dbname=postgres password=" + PasswordOf(RecvCluster());
  std::optional<pg::Connection> s;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto conn = pg::Connection::Connect(standby_conninfo);
        if (conn.ok()) s.emplace(std::move(conn).value());
        return s.has_value();
      },
      60))
      << ReadBytes(sb.dir + "/log");
  ASSERT_EQ(ValueOf(*s, "SELECT pg_is_in_recovery()"), "t");

  std::string repo = TempPath("repo-timeline"), spool = TempPath("spool-timeline");
  auto env = pw;
  BackgroundCli cli =
      StartCli({"wal-receive", "--db", "postgresql://postgres@127.0.0.1:" + std::to_string(sb.port) + "/postgres",
                "--repo", repo, "--spool", spool, "--slot", "recv_timeline", "--application-name", "pgkeeper_timeline",
                "--status-interval", "1"},
               env);
  ASSERT_TRUE(WaitFor([&] {
    return ValueOf(*s, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pgkeeper_timeline'") == "1";
  })) << ReadBytes(cli.err_file);
  // Timeline 1, through the standby.
  std::string on_tl1 = SwitchSegment(c);
  ASSERT_TRUE(WaitFor([&] { return Stored(repo).count(on_tl1) == 1; })) << ReadBytes(cli.err_file);
  // Some WAL into the next segment, received through the standby, so that timeline 1
  // ends inside a segment.
  ASSERT_TRUE(c.Exec("INSERT INTO t VALUES ('before the promotion')").ok());
  std::string primary_lsn = ValueOf(c, "SELECT pg_current_wal_lsn()::text");
  std::string tl1_last = ValueOf(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
  ASSERT_TRUE(WaitFor([&] {
    return ValueOf(*s,
                 "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pgkeeper_timeline' AND "
                 "write_lsn >= '" +
                     primary_lsn + "'") == "1";
  })) << ReadBytes(cli.err_file);
  // Promotion: the standby's walsender ends timeline 1; the receiver follows timeline 2.
  ASSERT_EQ(ValueOf(*s, "SELECT pg_promote()"), "t");
  ASSERT_TRUE(WaitFor([&] { return ValueOf(*s, "SELECT pg_is_in_recovery()") == "f"; }));
  std::string on_tl2 = SwitchSegment(*s);
  ASSERT_EQ(on_tl2.substr(0, 8), "00000002");
  ASSERT_TRUE(WaitFor([&] { return Stored(repo).count(on_tl2) == 1; })) << ReadBytes(cli.err_file);
  EXPECT_EQ(Stored(repo).count("00000002.history"), 1u);
  // Timeline 1's last segment, up to the switch, is archived as a partial segment.
  EXPECT_TRUE(WaitFor([&] { return Stored(repo).count(tl1_last + ".partial") == 1; }, 10)) << ReadBytes(cli.err_file);
  auto h = RunCli({"wal-fetch", "00000002.history", TempPath("tl2.history"), "--repo", repo});
  ASSERT_EQ(h.exit_code, 0) << h.All();
  EXPECT_EQ(ReadBytes(TempPath("tl2.history")), ReadBytes(sb.pgdata + "/pg_wal/00000002.history"));
  // The new timeline's segments are byte-identical too.
  std::string dest = TempPath("tl2-" + on_tl2);
  auto f = RunCli({"wal-fetch", on_tl2, dest, "--repo", repo});
  ASSERT_EQ(f.exit_code, 0) << f.All();
  EXPECT_EQ(Sha256Hex(ReadBytes(dest)), Sha256Hex(ReadBytes(sb.pgdata + "/pg_wal/" + on_tl2)));
  cli.process->Signal(SIGTERM);
  auto res = cli.Wait();
  EXPECT_EQ(res.exit_code, 0) << res.All();
  EXPECT_NE(res.err.find("following timeline 2"), std::string::npos) << res.err;
}

}  // namespace pgk::test
