// WAL archiving against a real server: archive_command = pgkeeper wal-push, and
// wal-fetch, wal status, setup-archiving, verify and expire on what it archived.
//
// The archiving cluster is this binary's own (archive_mode needs a restart, so the
// harness's shared cluster would not do). Under root the server runs as `postgres`,
// so the repository it archives into is owned by that user. Tests that need to damage
// or fabricate WAL use copies in repositories of their own.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <functional>
#include <optional>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include "common/hash.h"
#include "common/process.h"
#include "harness/archiving.h"
#include "harness/harness.h"
#include "pg/conninfo.h"
#include "pg/local_cluster.h"
#include "pg/quote.h"

namespace pgk::test {

namespace {

namespace stdfs = std::filesystem;

std::string ServerRepo() {
  static const std::string repo = ServerOwnedDir("server-repo");
  return repo;
}

std::string ArchiveCommand(const std::string& extra = "") {
  return "'" + BinaryPath() + "' wal-push %p --repo '" + ServerRepo() + "'" + extra;
}

pg::LocalCluster& WalCluster() {
  static std::unique_ptr<pg::LocalCluster> cluster = [] {
    auto c = pg::LocalCluster::Open({.dir = TempPath("walcluster"),
                                     .settings = {"archive_mode=on", "wal_level=replica", "synchronous_commit=off"}});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    Status s = (*c)->Init();
    // archive_command goes in postgresql.conf, not on the command line (-c), which would
    // outrank the ALTER SYSTEM SET that tests use to change it for a while.
    if (s.ok()) {
      std::ofstream((*c)->data_dir() / "postgresql.conf", std::ios::app)
          << "\narchive_command = " << pg::QuoteLiteral(ArchiveCommand()) << "\n";
      s = (*c)->Start();
    }
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::move(c).value();
  }();
  return *cluster;
}

pg::Connection WalConnect() {
  auto c = pg::Connection::Connect(WalCluster().ConnInfo());
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

// Writes a little WAL, switches segments and returns the name of the one switched out.
std::string SwitchSegment(pg::Connection& c) {
  EXPECT_TRUE(c.Exec("CREATE TABLE IF NOT EXISTS t (x int); INSERT INTO t VALUES (1)").ok());
  // pg_switch_wal() returns the end of the segment it completed (plus one), which
  // pg_walfile_name() maps to that segment.
  return ValueOf(c, "SELECT pg_walfile_name(pg_switch_wal())");
}

// Waits until pg_stat_archiver reports `name` (or a later file) archived.
bool WaitArchived(pg::Connection& c, const std::string& name, int timeout_s = 30) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string last = ValueOf(c, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
    if (!last.empty() && last.substr(0, 24) >= name) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

std::vector<std::string> StoredFiles(const std::string& repo, const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : stdfs::recursive_directory_iterator(repo + "/wal", ec)) {
    std::string n = e.path().filename().string();
    if (e.is_regular_file() && n.starts_with(prefix)) out.push_back(e.path().string());
  }
  return out;
}

// A private "data directory" for wal-push run by hand: a copy of the cluster's
// pg_control (the identity) and a pg_wal with the given segments.
struct FakePgdata {
  std::string dir;
  std::string wal_dir() const { return dir + "/pg_wal"; }
};

FakePgdata MakePgdata(const std::string& name, uint64_t system_identifier_delta = 0) {
  FakePgdata p{TempPath(name)};
  stdfs::create_directories(p.dir + "/global");
  stdfs::create_directories(p.wal_dir() + "/archive_status");
  std::string control = ReadBytes((WalCluster().data_dir() / "global" / "pg_control").string());
  uint64_t id;
  std::memcpy(&id, control.data(), 8);
  id += system_identifier_delta;
  std::memcpy(control.data(), &id, 8);
  WriteBytes(p.dir + "/global/pg_control", control);
  return p;
}

// A segment with the cluster's header (identity, size) and contents made unique by `salt`.
std::string SegmentBytes(const std::string& real_segment, int salt, uint64_t system_identifier_delta = 0) {
  std::string bytes = ReadBytes(real_segment);
  EXPECT_EQ(bytes.size(), 16u << 20);
  std::string tag = "salt " + std::to_string(salt);
  std::memcpy(bytes.data() + 8192 + 100, tag.data(), tag.size());
  uint64_t id;
  std::memcpy(&id, bytes.data() + 24, 8);
  id += system_identifier_delta;
  std::memcpy(bytes.data() + 24, &id, 8);
  return bytes;
}

// One real segment of the archiving cluster, still in pg_wal.
std::string RealSegment() {
  static const std::string path = [] {
    auto c = WalConnect();
    std::string name = SwitchSegment(c);
    EXPECT_TRUE(WaitArchived(c, name));
    return (WalCluster().data_dir() / "pg_wal" / name).string();
  }();
  return path;
}

std::map<std::string, std::string> PgpassEnv() { return {{"PGPASSFILE", WalCluster().pgpass_path().string()}}; }

}  // namespace

TEST(Wal, ServerArchivesSegmentsThatFetchBackByteIdentical) {
  auto c = WalConnect();
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) names.push_back(SwitchSegment(c));
  ASSERT_TRUE(WaitArchived(c, names.back())) << ReadBytes(WalCluster().log_path().string());
  EXPECT_EQ(ValueOf(c, "SELECT failed_count FROM pg_stat_archiver"), "0") << ReadBytes(WalCluster().log_path().string());
  for (const auto& n : names) {
    ASSERT_EQ(StoredFiles(ServerRepo(), n + "-").size(), 1u) << n;
    std::string dest = TempPath("fetched-" + n);
    auto r = RunCli({"wal-fetch", n, dest, "--repo", ServerRepo()});
    ASSERT_EQ(r.exit_code, 0) << r.All();
    EXPECT_EQ(r.All(), "");  // quiet: restore_command output lands in the server log
    std::string original = ReadBytes((WalCluster().data_dir() / "pg_wal" / n).string());
    ASSERT_EQ(original.size(), 16u << 20);
    EXPECT_TRUE(ReadBytes(dest) == original) << n << " differs after the round trip";
  }
  // Stored compressed: an almost empty segment is a few kB, not 16 MB.
  for (const auto& f : StoredFiles(ServerRepo(), names[0] + "-")) EXPECT_LT(stdfs::file_size(f), 4u << 20);
}

TEST(Wal, FetchOfAMissingFileExitsOneQuietly) {
  RealSegment();  // the archive exists
  for (const char* name : {"0000000100000000000000FE", "00000009.history"}) {
    auto r = RunCli({"wal-fetch", name, TempPath("missing"), "--repo", ServerRepo()});
    EXPECT_EQ(r.exit_code, 1) << r.All();
    EXPECT_EQ(r.All(), "");
    EXPECT_FALSE(stdfs::exists(TempPath("missing")));
  }
}

TEST(Wal, PushIsIdempotentAndNeverOverwrites) {
  auto p = MakePgdata("pgdata-idem");
  std::string repo = TempPath("repo-idem");
  std::string name = "000000010000000000000031";
  WriteBytes(p.wal_dir() + "/" + name, SegmentBytes(RealSegment(), 1));
  auto push = [&] { return RunCli({"wal-push", "pg_wal/" + name, "--repo", repo}, {}, p.dir); };
  auto r = push();
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto stored = StoredFiles(repo, name + "-");
  ASSERT_EQ(stored.size(), 1u);
  std::string before = ReadBytes(stored[0]);
  r = push();
  EXPECT_EQ(r.exit_code, 0) << r.All();
  // Another cluster's file of the same name (other contents): refused, nothing replaced.
  WriteBytes(p.wal_dir() + "/" + name, SegmentBytes(RealSegment(), 2));
  r = push();
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("already archived"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("different contents"), std::string::npos) << r.err;
  EXPECT_EQ(StoredFiles(repo, name + "-"), stored);
  EXPECT_TRUE(ReadBytes(stored[0]) == before);
}

TEST(Wal, AForeignClusterIsRefused) {
  auto p = MakePgdata("pgdata-mine");
  std::string repo = TempPath("repo-foreign");
  WriteBytes(p.wal_dir() + "/000000010000000000000041", SegmentBytes(RealSegment(), 1));
  auto r = RunCli({"wal-push", "pg_wal/000000010000000000000041", "--repo", repo}, {}, p.dir);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  // Another cluster (another system identifier in pg_control and in its segments).
  auto other = MakePgdata("pgdata-other", 1);
  WriteBytes(other.wal_dir() + "/000000010000000000000042", SegmentBytes(RealSegment(), 2, 1));
  r = RunCli({"wal-push", "pg_wal/000000010000000000000042", "--repo", repo}, {}, other.dir);
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("belongs to the cluster with system identifier"), std::string::npos) << r.err;
  EXPECT_TRUE(StoredFiles(repo, "000000010000000000000042").empty());
  // A segment whose header names another cluster than the data directory's pg_control.
  WriteBytes(p.wal_dir() + "/000000010000000000000043", SegmentBytes(RealSegment(), 3, 1));
  r = RunCli({"wal-push", "pg_wal/000000010000000000000043", "--repo", repo}, {}, p.dir);
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_TRUE(StoredFiles(repo, "000000010000000000000043").empty());
}

// kill -9 of wal-push at random moments, 20 times: a push that exited 0 (what PostgreSQL
// takes as "archived") is in the archive and fetches back byte-identical, whatever was
// killed after it; an interrupted push leaves nothing that blocks or spoils the retry.
TEST(Wal, KilledPushesLoseNothingAcknowledgedAndRetrySucceeds) {
  auto p = MakePgdata("pgdata-kill");
  std::string repo = TempPath("repo-kill");
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(0, 250);
  std::map<std::string, std::string> contents;
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 20; ++i) {
    char name[25];
    std::snprintf(name, sizeof name, "0000000100000000000000%02X", 0x60 + i);
    contents[name] = SegmentBytes(RealSegment(), 100 + i);
    WriteBytes(p.wal_dir() + "/" + name, contents[name]);
    auto bg = StartCli({"wal-push", p.wal_dir() + "/" + name, "--pgdata", p.dir, "--repo", repo});
    ASSERT_TRUE(bg.process);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    bg.process->Signal(SIGKILL);
    auto r = bg.Wait();
    if (r.exit_code == 0) acknowledged.push_back(name);
  }
  auto fetch_is_identical = [&](const std::string& name) {
    std::string dest = TempPath("kill-fetch-" + name);
    auto r = RunCli({"wal-fetch", name, dest, "--repo", repo});
    bool same = r.exit_code == 0 && ReadBytes(dest) == contents[name];
    stdfs::remove(dest);
    return same;
  };
  for (const auto& name : acknowledged) EXPECT_TRUE(fetch_is_identical(name)) << name << " was acknowledged";
  // PostgreSQL retries what was not acknowledged: every retry succeeds and is exact.
  for (const auto& [name, bytes] : contents) {
    auto r = RunCli({"wal-push", p.wal_dir() + "/" + name, "--pgdata", p.dir, "--repo", repo});
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.All();
    EXPECT_TRUE(fetch_is_identical(name)) << name;
  }
  auto verified = RunCli({"verify", "--wal", "--repo", repo});
  EXPECT_EQ(verified.exit_code, 0) << verified.All();
  std::cout << acknowledged.size() << " of 20 killed pushes had already been acknowledged\n";
}

TEST(Wal, CorruptedStoredFileFailsFetchLoudly) {
  for (bool encrypted : {false, true}) {
    SCOPED_TRACE(encrypted ? "encrypted" : "plain");
    std::string tag = encrypted ? "enc" : "plain";
    auto p = MakePgdata("pgdata-corrupt-" + tag);
    std::string repo = TempPath("repo-corrupt-" + tag);
    std::map<std::string, std::string> env;
    if (encrypted) env["PGKEEPER_ENCRYPTION_KEY"] = std::string(64, 'b');
    std::string name = "000000010000000000000051";
    std::string original = SegmentBytes(RealSegment(), 5);
    WriteBytes(p.wal_dir() + "/" + name, original);
    WriteBytes(p.wal_dir() + "/00000002.history", "1\t0/51000000\tno recovery target specified\n");
    for (const std::string& f : {name, std::string("00000002.history")}) {
      auto r = RunCli({"wal-push", "pg_wal/" + f, "--repo", repo}, env, p.dir);
      ASSERT_EQ(r.exit_code, 0) << r.All();
    }
    std::string dest = TempPath("corrupt-dest-" + tag);
    auto r = RunCli({"wal-fetch", name, dest, "--repo", repo}, env);
    ASSERT_EQ(r.exit_code, 0) << r.All();
    EXPECT_TRUE(ReadBytes(dest) == original);
    r = RunCli({"wal-fetch", "00000002.history", dest + ".h", "--repo", repo}, env);
    ASSERT_EQ(r.exit_code, 0) << r.All();
    EXPECT_EQ(ReadBytes(dest + ".h"), "1\t0/51000000\tno recovery target specified\n");
    stdfs::remove(dest);

    auto stored = StoredFiles(repo, name + "-");
    ASSERT_EQ(stored.size(), 1u);
    std::string bytes = ReadBytes(stored[0]);
    bytes[bytes.size() / 2] ^= 0x40;
    WriteBytes(stored[0], bytes);
    r = RunCli({"wal-fetch", name, dest, "--repo", repo}, env);
    // Above 125: PostgreSQL stops recovery rather than taking it for the end of the WAL.
    EXPECT_EQ(r.exit_code, 255) << r.All();
    EXPECT_NE(r.err.find(name), std::string::npos) << r.err;
    EXPECT_TRUE(r.err.find("corrupt") != std::string::npos) << r.err;
    EXPECT_FALSE(stdfs::exists(dest));
    // verify names the corrupted segment.
    r = RunCli({"verify", "--wal", "--repo", repo}, env);
    EXPECT_EQ(r.exit_code, 1) << r.All();
    EXPECT_NE(r.out.find(name), std::string::npos) << r.All();
  }
}

TEST(Wal, AsyncPushesTheBacklogAndAcknowledgesFromTheSpool) {
  auto p = MakePgdata("pgdata-async");
  std::string repo = TempPath("repo-async");
  std::string spool = TempPath("spool-async");
  std::vector<std::string> names;
  for (int i = 0; i < 6; ++i) {
    std::string n = "0000000100000000000000" + std::string(i < 10 ? "6" : "") + std::to_string(i);
    names.push_back(n);
    WriteBytes(p.wal_dir() + "/" + n, SegmentBytes(RealSegment(), 60 + i));
    WriteBytes(p.wal_dir() + "/archive_status/" + n + ".ready", "");
  }
  auto push = [&](const std::string& n) {
    return RunCli({"wal-push", "pg_wal/" + n, "--repo", repo, "--async", "--spool", spool, "--jobs", "2", "-v"}, {},
                  p.dir);
  };
  auto r = push(names[0]);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  for (const auto& n : names) EXPECT_EQ(StoredFiles(repo, n + "-").size(), 1u) << n;
  // PostgreSQL marks the first one done and asks for the next: answered from the spool.
  for (size_t i = 1; i < names.size(); ++i) {
    stdfs::rename(p.wal_dir() + "/archive_status/" + names[i - 1] + ".ready",
                  p.wal_dir() + "/archive_status/" + names[i - 1] + ".done");
    r = push(names[i]);
    ASSERT_EQ(r.exit_code, 0) << r.All();
    EXPECT_NE(r.err.find("acknowledged by the spool"), std::string::npos) << r.err;
  }
  // A changed file under an acknowledged name is not acknowledged: it is pushed (and
  // refused, since the archive holds other contents under that name).
  WriteBytes(p.wal_dir() + "/" + names[5], SegmentBytes(RealSegment(), 99));
  r = push(names[5]);
  EXPECT_EQ(r.exit_code, 2) << r.All();
}

TEST(Wal, AsyncFetchPrefetchesAndServesFromTheSpool) {
  auto p = MakePgdata("pgdata-prefetch");
  std::string repo = TempPath("repo-prefetch");
  std::string spool = TempPath("spool-prefetch");
  std::vector<std::string> names, contents;
  for (int i = 0; i < 5; ++i) {
    std::string n = "00000001000000000000007" + std::to_string(i);
    names.push_back(n);
    contents.push_back(SegmentBytes(RealSegment(), 70 + i));
    WriteBytes(p.wal_dir() + "/" + n, contents.back());
    auto r = RunCli({"wal-push", "pg_wal/" + n, "--repo", repo}, {}, p.dir);
    ASSERT_EQ(r.exit_code, 0) << r.All();
  }
  auto fetch = [&](size_t i) {
    return RunCli({"wal-fetch", names[i], TempPath("pf-" + names[i]), "--repo", repo, "--async", "--spool", spool,
                   "--prefetch", "3"});
  };
  auto r = fetch(0);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_TRUE(ReadBytes(TempPath("pf-" + names[0])) == contents[0]);
  // The detached worker fetches 1..3 into the spool.
  auto spooled = [&](const std::string& n) {
    std::error_code ec;
    for (const auto& e : stdfs::recursive_directory_iterator(spool, ec)) {
      std::string f = e.path().filename().string();
      if (f.size() == 24 + 65 && f.starts_with(n + "-")) return true;
    }
    return false;
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!(spooled(names[1]) && spooled(names[2]) && spooled(names[3])) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(spooled(names[1]) && spooled(names[2]) && spooled(names[3]));
  EXPECT_FALSE(spooled(names[4]));
  // A spooled copy damaged on disk is discarded and fetched again, never served.
  std::error_code ec;
  for (const auto& e : stdfs::recursive_directory_iterator(spool, ec)) {
    if (e.path().filename().string().starts_with(names[2] + "-")) {
      std::string b = ReadBytes(e.path().string());
      b[1000] ^= 1;
      WriteBytes(e.path().string(), b);
    }
  }
  for (size_t i = 1; i < names.size(); ++i) {
    r = fetch(i);
    ASSERT_EQ(r.exit_code, 0) << r.All();
    EXPECT_TRUE(ReadBytes(TempPath("pf-" + names[i])) == contents[i]) << names[i];
  }
  EXPECT_FALSE(spooled(names[1]));  // served (moved out of the spool)
}

TEST(Wal, StatusReportsArchivingAndLag) {
  auto c = WalConnect();
  std::string name = SwitchSegment(c);
  ASSERT_TRUE(WaitArchived(c, name));
  auto r = RunCli({"wal", "status", "--db", WalCluster().Url(), "--repo", ServerRepo(), "--json"}, PgpassEnv());
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto j = r.Json();
  EXPECT_EQ(j["archive_mode"], "on");
  EXPECT_EQ(j["failed_count"], 0);
  EXPECT_FALSE(j["failing"].get<bool>());
  EXPECT_GE(j["last_archived_wal"].get<std::string>(), name);
  ASSERT_TRUE(j["lag_bytes"].is_number());
  // Only the segment being written is not archived yet.
  EXPECT_LT(j["lag_bytes"].get<uint64_t>(), 16u << 20) << j.dump();
  EXPECT_GE(j["lag_seconds"].get<double>(), 0);
  EXPECT_GE(j["archive"]["segments"].get<int>(), 1);
  EXPECT_TRUE(j["archive"]["gaps"].empty()) << j.dump();
  EXPECT_TRUE(j["ok"].get<bool>()) << j.dump();
  // Human output.
  r = RunCli({"wal", "status", "--db", WalCluster().Url(), "--repo", ServerRepo()}, PgpassEnv());
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("lag"), std::string::npos) << r.out;
}

TEST(Wal, StatusReportsGapsInTheArchive) {
  auto p = MakePgdata("pgdata-gap");
  std::string repo = TempPath("repo-gap");
  for (const char* n : {"000000010000000000000081", "000000010000000000000082", "000000010000000000000085"}) {
    WriteBytes(p.wal_dir() + "/" + n, SegmentBytes(RealSegment(), n[23]));
    auto r = RunCli({"wal-push", std::string("pg_wal/") + n, "--repo", repo}, {}, p.dir);
    ASSERT_EQ(r.exit_code, 0) << r.All();
  }
  auto r = RunCli({"wal", "status", "--db", WalCluster().Url(), "--repo", repo, "--json"}, PgpassEnv());
  EXPECT_EQ(r.exit_code, 1) << r.All();
  auto j = r.Json();
  ASSERT_EQ(j["archive"]["gaps"].size(), 1u) << j.dump();
  EXPECT_EQ(j["archive"]["gaps"][0]["first"], "000000010000000000000083");
  EXPECT_EQ(j["archive"]["gaps"][0]["last"], "000000010000000000000084");
  r = RunCli({"verify", "--wal", "--repo", repo});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.out.find("000000010000000000000083"), std::string::npos) << r.out;
}

TEST(Wal, ServerArchivesAsynchronously) {
  auto c = WalConnect();
  std::string spool = ServerOwnedDir("server-spool");
  ASSERT_TRUE(c.Exec("ALTER SYSTEM SET archive_command = " +
                     pg::QuoteLiteral(ArchiveCommand(" --async --spool '" + spool + "' --jobs 2")))
                  .ok());
  ASSERT_TRUE(c.Exec("SELECT pg_reload_conf()").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) names.push_back(SwitchSegment(c));
  bool archived = WaitArchived(c, names.back());
  EXPECT_TRUE(c.Exec("ALTER SYSTEM RESET archive_command").ok());
  EXPECT_TRUE(c.Exec("SELECT pg_reload_conf()").ok());
  ASSERT_TRUE(archived) << ReadBytes(WalCluster().log_path().string());
  EXPECT_EQ(ValueOf(c, "SELECT failed_count FROM pg_stat_archiver"), "0") << ReadBytes(WalCluster().log_path().string());
  for (const auto& n : names) EXPECT_EQ(StoredFiles(ServerRepo(), n + "-").size(), 1u) << n;
  // The server really ran the asynchronous command: it made the spool's push directory.
  bool spooled = false;
  for (const auto& e : stdfs::directory_iterator(spool)) {
    spooled = spooled || e.path().filename().string().starts_with("push-");
  }
  EXPECT_TRUE(spooled) << "archive_command did not use the spool";
}

TEST(Wal, SetupArchivingChecksAndApplies) {
  std::string db = CreateDatabase("setup_archiving");
  std::string repo = TempPath("repo-setup");
  auto r = RunCli({"setup-archiving", "--db", UrlWithPassword(db), "--repo", repo, "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  auto j = r.Json();
  std::string command = j["archive_command"];
  EXPECT_NE(command.find("wal-push %p --repo '" + repo + "'"), std::string::npos) << command;
  EXPECT_EQ(command.find("'/"), 0u) << "the binary's absolute path comes first: " << command;
  r = RunCli({"setup-archiving", "--db", UrlWithPassword(db), "--repo", repo, "--apply"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("restart the server"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("archive_mode"), std::string::npos) << r.out;
  // archive_mode is off until the restart, so SHOW says "(disabled)": read the file.
  EXPECT_EQ(
      QueryValue(db, "SELECT setting FROM pg_file_settings WHERE name = 'archive_command' ORDER BY seqno DESC LIMIT 1"),
      command);
  EXPECT_EQ(QueryValue(db, "SELECT pending_restart FROM pg_settings WHERE name = 'archive_mode'"), "t");
  // Once more: the command is in place; archive_mode still waits for the restart.
  r = RunCli({"setup-archiving", "--db", UrlWithPassword(db), "--repo", repo, "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  for (const auto& s : r.Json()["settings"]) {
    if (s["name"] == "archive_command" || s["name"] == "archive_timeout") {
      EXPECT_TRUE(s["ok"].get<bool>()) << s.dump();
    }
    if (s["name"] == "archive_mode") {
      EXPECT_FALSE(s["ok"].get<bool>()) << s.dump();
    }
  }
  // Leave the shared cluster as it was.
  auto conn = Connect(db);
  EXPECT_TRUE(conn.Exec("ALTER SYSTEM RESET ALL").ok());
  EXPECT_TRUE(conn.Exec("SELECT pg_reload_conf()").ok());
}

// A base backup without WAL (pg_basebackup -X none) recovered with restore_command =
// wal-fetch: PostgreSQL replays the archive to its end and promotes. With a corrupted
// segment in the archive, recovery must stop there instead of ending early and promoting
// (which would silently drop every later transaction): wal-fetch's exit code above 125.
TEST(Wal, RecoveryReplaysTheArchiveAndStopsAtACorruptedSegment) {
  auto c = WalConnect();
  ASSERT_TRUE(c.Exec("CREATE TABLE recovered (x int); INSERT INTO recovered VALUES (1)").ok());
  auto pg_user = IsRoot() ? std::optional<UserInfo>(LookupUser("postgres").value()) : std::nullopt;
  std::string parent = ServerOwnedDir("basebackups");
  const auto& bin = WalCluster().binaries();
  auto password = pg::ParseConninfo(WalCluster().ConnInfo());
  ASSERT_TRUE(password.ok());
  std::map<std::string, std::string> env = {{"PGPASSWORD", (*password)["password"]}};
  auto r = RunProcess({.argv = {bin.Path("pg_basebackup"), "-D", parent + "/good", "-X", "none", "-c", "fast", "-h",
                                "127.0.0.1", "-p", std::to_string(WalCluster().port()), "-U", "postgres"},
                       .env = env,
                       .run_as = pg_user,
                       .capture = true});
  ASSERT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->output : r.status().ToString());
  r = RunProcess({.argv = {"/bin/cp", "-a", parent + "/good", parent + "/bad"}, .capture = true});
  ASSERT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->output : r.status().ToString());
  // After the backup: two more rows, in segments that only the archive has.
  ASSERT_TRUE(c.Exec("INSERT INTO recovered VALUES (2), (3)").ok());
  std::string last = SwitchSegment(c);
  ASSERT_TRUE(WaitArchived(c, last));

  // The "bad" restore reads a copy of the archive whose last segment is damaged.
  std::string bad_repo = ServerOwnedDir("repo-recovery-bad");
  stdfs::copy(ServerRepo(), bad_repo, stdfs::copy_options::recursive | stdfs::copy_options::overwrite_existing);
  auto stored = StoredFiles(bad_repo, last + "-");
  ASSERT_EQ(stored.size(), 1u);
  std::string bytes = ReadBytes(stored[0]);
  bytes[bytes.size() / 2] ^= 0x20;
  WriteBytes(stored[0], bytes);
  if (pg_user) {
    for (const auto& e : stdfs::recursive_directory_iterator(bad_repo)) {
      EXPECT_EQ(::lchown(e.path().c_str(), pg_user->uid, pg_user->gid), 0);
    }
  }

  int port = 0;
  auto start = [&](const std::string& name, const std::string& repo) -> Result<Process> {
    std::string data = parent + "/" + name;
    std::ofstream(data + "/postgresql.auto.conf", std::ios::app)
        << "restore_command = '" << BinaryPath() << " wal-fetch %f %p --repo " << repo << "'\n"
        << "recovery_target_action = 'promote'\n";
    WriteBytes(data + "/recovery.signal", "");
    if (pg_user) {
      EXPECT_EQ(::chown((data + "/recovery.signal").c_str(), pg_user->uid, pg_user->gid), 0);
    }
    auto free_port = pg::FindFreePort();
    if (!free_port.ok()) return free_port.status();
    port = *free_port;
    return Process::Spawn(
        {.argv = {bin.Path("postgres"), "-D", data, "-p", std::to_string(port), "-c", "listen_addresses=127.0.0.1",
                  "-c", "unix_socket_directories=", "-c", "archive_mode=off"},
         .run_as = pg_user,
         .output_file = TempPath("recovery-" + name + ".log"),
         .new_session = true,
         .parent_death_signal = SIGINT});
  };

  // Good archive: replays to its end, promotes, and has all three rows.
  {
    auto server = start("good", ServerRepo());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    bool promoted = false;
    for (int i = 0; i < 300 && !promoted; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      promoted = stdfs::exists(parent + "/good/pg_wal/00000002.history");
    }
    ASSERT_TRUE(promoted) << ReadBytes(TempPath("recovery-good.log"));
    std::string rows;
    for (int i = 0; i < 100 && rows != "3"; ++i) {
      auto restored = pg::Connection::Connect("host=127.0.0.1 port=" + std::to_string(port) +
                                              " user=postgres dbname=postgres password=" + (*password)["password"]);
      if (restored.ok()) rows = ValueOf(*restored, "SELECT count(*) FROM recovered WHERE NOT pg_is_in_recovery()");
      if (rows != "3") std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    // The history file appears before the server logs the end of recovery, so the log is read
    // once the promoted server answers.
    std::string log = ReadBytes(TempPath("recovery-good.log"));
    EXPECT_EQ(rows, "3") << log;
    EXPECT_NE(log.find("restored log file \"" + last + "\" from archive"), std::string::npos) << log;
    EXPECT_NE(log.find("archive recovery complete"), std::string::npos) << log;
    server->Signal(SIGINT);
    server->Wait();
  }
  // Damaged archive: the startup process stops at the damaged segment; no promotion.
  {
    auto server = start("bad", bad_repo);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    std::optional<int> exited;
    for (int i = 0; i < 300 && !exited; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      exited = server->TryWait();
    }
    std::string log = ReadBytes(TempPath("recovery-bad.log"));
    if (!exited) {
      server->Signal(SIGINT);
      server->Wait();
    }
    ASSERT_TRUE(exited) << "recovery went on past a corrupted segment:\n" << log;
    EXPECT_NE(*exited, 0);
    EXPECT_NE(log.find("could not restore file \"" + last + "\" from archive"), std::string::npos) << log;
    EXPECT_NE(log.find("corrupted"), std::string::npos) << log;
    EXPECT_FALSE(stdfs::exists(parent + "/bad/pg_wal/00000002.history")) << log;
  }
}

TEST(Wal, ExpireKeepsAllWalWithoutPhysicalBackups) {
  RealSegment();
  auto r = RunCli({"expire", "--repo", ServerRepo(), "--keep-last", "1", "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("no physical backup yet: keeping all WAL"), std::string::npos) << r.out;
}

// serve watching the archiving server: the last archived segment and the lag come from
// pg_stat_archiver; an archive_command that starts failing shows at once (metric,
// warning, status page), and the lag grows past the segments that wait.
TEST(Wal, ServeReportsArchivingThenItsFailureAndTheGrowingLag) {
  auto c = WalConnect();
  ASSERT_TRUE(WaitArchived(c, SwitchSegment(c)));
  int port = 0;
  {
    auto p = pg::FindFreePort();
    ASSERT_TRUE(p.ok());
    port = *p;
  }
  std::string config =
      MakeFiles("serve-wal-cfg", {{"pgkeeper.toml", "[serve]\nrefresh_seconds = 1\n"}}) + "/pgkeeper.toml";
  auto serve = StartCli({"serve", "--config", config, "--db", WalCluster().Url(), "--repo", ServerRepo(), "--listen",
                         "127.0.0.1:" + std::to_string(port)},
                        PgpassEnv());
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(20);
  auto get = [&](const std::string& path) {
    auto r = http.Get(path.c_str());
    return r ? r->body : std::string();
  };
  auto wait_for = [&](const std::function<bool(const std::string&)>& done, int seconds) {
    std::string body;
    for (int i = 0; i < seconds * 5; ++i) {
      body = get("/metrics");
      if (done(body)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return body;
  };
  std::string m =
      wait_for([&](const std::string& b) { return MetricValue(b, "pgkeeper_wal_archive_failing").has_value(); }, 30);
  EXPECT_EQ(MetricValue(m, "pgkeeper_wal_archive_failing"), 0.0) << m;
  auto archived = MetricValue(m, "pgkeeper_wal_last_archived_timestamp_seconds");
  ASSERT_TRUE(archived) << m;
  EXPECT_LT(std::abs(*archived - static_cast<double>(std::time(nullptr))), 120.0) << m;
  EXPECT_LT(MetricValue(m, "pgkeeper_wal_archive_lag_bytes").value_or(1e12), 16.0 * 1024 * 1024) << m;

  // archive_command fails from now on; two segments wait.
  ASSERT_TRUE(c.Exec("ALTER SYSTEM SET archive_command = 'false'").ok());
  ASSERT_TRUE(c.Exec("SELECT pg_reload_conf()").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  SwitchSegment(c);
  SwitchSegment(c);
  m = wait_for([&](const std::string& b) { return MetricValue(b, "pgkeeper_wal_archive_failing") == 1.0; }, 30);
  EXPECT_EQ(MetricValue(m, "pgkeeper_wal_archive_failing"), 1.0) << m;
  EXPECT_GE(MetricValue(m, "pgkeeper_wal_archive_failures_total").value_or(0), 1.0) << m;
  EXPECT_GE(MetricValue(m, "pgkeeper_wal_archive_lag_bytes").value_or(0), 2.0 * 16 * 1024 * 1024) << m;
  EXPECT_GT(MetricValue(m, "pgkeeper_wal_archive_lag_seconds").value_or(0), 0.0) << m;
  auto status = nlohmann::json::parse(get("/api/status"), nullptr, false);
  ASSERT_TRUE(status.is_object());
  EXPECT_TRUE(status["wal"]["failing"].get<bool>()) << status["wal"].dump();
  EXPECT_NE(status["warnings"].dump().find("WAL archiving is failing"), std::string::npos) << status["warnings"].dump();
  EXPECT_NE(get("/").find("failing"), std::string::npos);

  // Fixed: the waiting segments are archived and the failure clears.
  ASSERT_TRUE(c.Exec("ALTER SYSTEM RESET archive_command").ok());
  ASSERT_TRUE(c.Exec("SELECT pg_reload_conf()").ok());
  ASSERT_TRUE(WaitArchived(c, SwitchSegment(c), 90)) << ReadBytes(WalCluster().log_path().string());
  m = wait_for([&](const std::string& b) { return MetricValue(b, "pgkeeper_wal_archive_failing") == 0.0; }, 30);
  EXPECT_EQ(MetricValue(m, "pgkeeper_wal_archive_failing"), 0.0) << m;
  EXPECT_LT(MetricValue(m, "pgkeeper_wal_archive_lag_bytes").value_or(1e12), 16.0 * 1024 * 1024) << m;
  serve.process->Signal(SIGTERM);
  EXPECT_EQ(serve.Wait().exit_code, 0);
}

}  // namespace pgk::test
