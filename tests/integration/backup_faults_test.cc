// What backup and the commands that read a repository do when the world breaks: a full
// disk, a read-only repository, an S3 server that dies mid-upload or is not there at all,
// a wrong or missing key on S3. Each test checks the message, the documented exit code
// (README "Exit codes": 2 refused, 3 runtime failure) and that nothing is half-done: no
// listed backup, no created database, the repository still verifies and takes the next
// backup. Faults are real (a tmpfs that fills, a read-only mount, a SIGKILLed s3rver),
// never simulated inside pgkeeper.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "harness/harness.h"
#include "harness/mount.h"
#include "harness/s3.h"
#include "pg/local_cluster.h"

namespace pgk::test {

namespace {

using Env = std::map<std::string, std::string>;
using Clock = std::chrono::steady_clock;

const std::string kKey(64, 'c');

// A table of `rows` rows of 256 random bytes each: zstd cannot shrink it, so the stored
// backup is at least rows x 256 bytes.
std::string IncompressibleDatabase(const std::string& prefix, int rows) {
  std::string db = CreateDatabase(prefix);
  Status s = Connect(db).Exec(
      "CREATE TABLE blobs (id int PRIMARY KEY, payload bytea NOT NULL); "
      "INSERT INTO blobs SELECT g, decode(string_agg(md5(g || ':' || i || ':' || random()), ''), 'hex') "
      "FROM generate_series(1, " +
      std::to_string(rows) + ") g, generate_series(1, 16) i GROUP BY g;");
  EXPECT_TRUE(s.ok()) << s.ToString();
  return db;
}

std::string SmallDatabase(const std::string& prefix) {
  std::string db = CreateDatabase(prefix);
  Status s = Connect(db).Exec(
      "CREATE TABLE t (id int PRIMARY KEY, v text); "
      "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 100) g;");
  EXPECT_TRUE(s.ok()) << s.ToString();
  return db;
}

CliResult Backup(const std::string& db, const std::string& repo, const Env& env = {},
                 const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"backup", "--db", UrlWithPassword(db), "--repo", repo, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCli(args, env);
}

CliResult Restore(const std::string& repo, const std::string& into, const Env& env = {}) {
  return RunCli({"restore", "--db", UrlWithPassword("postgres"), "--repo", repo, "--into", into, "--json"}, env);
}

bool DatabaseExists(const std::string& name) {
  return QueryValue("postgres", "SELECT count(*) FROM pg_database WHERE datname = '" + name + "'") == "1";
}

std::string NewName(const std::string& prefix) {
  static int counter = 0;
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

// The ids `backups list` shows, and the unfinished ones it reports.
struct Listing {
  std::vector<std::string> backups, unfinished;
};
Listing List(const std::string& repo, const Env& env = {}) {
  Listing l;
  auto r = RunCli({"backups", "list", "--repo", repo, "--json"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  if (r.exit_code != 0) return l;
  auto j = r.Json();
  for (const auto& b : j["backups"]) l.backups.push_back(b["id"]);
  for (const auto& u : j["unfinished"]) l.unfinished.push_back(u);
  return l;
}

// `verify --all` reads every stored file of every listed backup.
void ExpectVerifies(const std::string& repo, const Env& env = {}) {
  auto v = RunCli({"verify", "--all", "--repo", repo, "--json"}, env);
  EXPECT_EQ(v.exit_code, 0) << v.All();
  if (v.exit_code == 0) {
    EXPECT_EQ(v.Json()["ok"], true) << v.out;
  }
}

Env With(Env env, const Env& more) {
  for (const auto& [k, v] : more) env[k] = v;
  return env;
}

}  // namespace

// A posix repository on a 2 MiB file system: the backup that does not fit fails with
// ENOSPC named and a hint, removes what it wrote, and the backup before it is untouched.
TEST(BackupFaults, FullDiskFailsCleanly) {
  std::string why;
  auto mount = PrivateMount::Tmpfs("full_disk", 2 << 20, &why);
  if (!mount) GTEST_SKIP() << why;
  std::string repo = mount->path() + "/repo";
  std::string small = SmallDatabase("flt_disk_small");
  auto first = Backup(small, repo);
  ASSERT_EQ(first.exit_code, 0) << first.All();
  std::string first_id = first.Json()["id"];
  uint64_t used_before = mount->UsedBytes();

  std::string big = IncompressibleDatabase("flt_disk_big", 20000);  // ~5 MB stored
  auto r = Backup(big, repo);
  EXPECT_EQ(r.exit_code, 3) << r.All();
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint: the file system holding"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is full"), std::string::npos) << r.err;
  EXPECT_EQ(r.Json()["error"]["exit_code"], 3) << r.out;

  Listing l = List(repo);
  EXPECT_EQ(l.backups, std::vector<std::string>{first_id});
  EXPECT_TRUE(l.unfinished.empty()) << "the failed backup removes what it wrote";
  // Nothing of the failed backup is left taking space (tmpfs counts whole pages).
  EXPECT_LE(mount->UsedBytes(), used_before + 16384) << "before " << used_before;
  ExpectVerifies(repo);
  std::string target = NewName("flt_disk_restored");
  auto restored = Restore(repo, target);
  EXPECT_EQ(restored.exit_code, 0) << restored.All();
  EXPECT_EQ(TableFingerprints(target), TableFingerprints(small));
}

// A read-only repository: backup fails before writing anything; everything that only
// reads (list, show, verify, restore, export) works.
TEST(BackupFaults, ReadOnlyRepository) {
  std::string db = SmallDatabase("flt_ro");
  std::string dir = TempPath("ro_repo");
  auto first = Backup(db, dir);
  ASSERT_EQ(first.exit_code, 0) << first.All();
  std::string id = first.Json()["id"];
  std::string why;
  auto mount = PrivateMount::ReadOnly(dir, &why);
  if (!mount) GTEST_SKIP() << why;
  const std::string& repo = mount->path();

  auto r = Backup(db, repo);
  EXPECT_EQ(r.exit_code, 3) << r.All();
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is on a read-only file system"), std::string::npos) << r.err;

  Listing l = List(repo);
  EXPECT_EQ(l.backups, std::vector<std::string>{id});
  EXPECT_TRUE(l.unfinished.empty());
  auto show = RunCli({"backups", "show", "latest", "--repo", repo, "--json"});
  EXPECT_EQ(show.exit_code, 0) << show.All();
  ExpectVerifies(repo);
  std::string target = NewName("flt_ro_restored");
  auto restored = Restore(repo, target);
  EXPECT_EQ(restored.exit_code, 0) << restored.All();
  EXPECT_EQ(TableFingerprints(target), TableFingerprints(db));
  auto exported = RunCli({"backups", "export", id, TempPath("ro_export"), "--repo", repo});
  EXPECT_EQ(exported.exit_code, 0) << exported.All();
  EXPECT_TRUE(std::filesystem::exists(TempPath("ro_export") + "/" + id + ".sql"));
}

// s3rver is SIGKILLed while a backup uploads: the backup gives up within a bounded time
// with a network error naming the endpoint; after the server is back nothing is listed,
// expire removes the debris and the next backup succeeds.
TEST(BackupFaults, S3ServerGoneMidUpload) {
  std::string bucket = S3().NewBucket("gone");
  ASSERT_FALSE(bucket.empty());
  std::string repo = "s3://" + bucket + "/repo";
  // s3rver checks only that the access key exists: a secret of our own shows any leak.
  const std::string secret = "gone-secret-0f3c9a";
  Env env = With(S3().Env(), {{"AWS_SECRET_ACCESS_KEY", secret}});
  std::string small = SmallDatabase("flt_gone_small");
  auto first = Backup(small, repo, env);
  ASSERT_EQ(first.exit_code, 0) << first.All();
  std::string first_id = first.Json()["id"];

  std::string big = IncompressibleDatabase("flt_gone_big", 60000);
  auto bg = StartCli({"backup", "--db", UrlWithPassword(big), "--repo", repo, "--compression", "none"}, env);
  ASSERT_TRUE(bg.process);
  // Kill the server while a table's multipart upload has parts on the server (s3rver
  // keeps them under ._S3rver_uploads until the upload completes).
  std::string uploads = S3().dir() + "/" + bucket + "/._S3rver_uploads";
  bool uploading = false;
  for (int i = 0; i < 1000 && !uploading && !bg.process->TryWait(); ++i) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(uploads, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file()) uploading = true;
    }
    if (!uploading) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(uploading) << "the backup never uploaded a part: " << bg.Wait().All();
  S3().Kill();
  auto killed_at = Clock::now();
  CliResult r = bg.Wait();
  double seconds = std::chrono::duration<double>(Clock::now() - killed_at).count();
  std::printf("backup failed %.1f s after the server was killed\n", seconds);
  EXPECT_EQ(r.exit_code, 3) << r.All();
  EXPECT_NE(r.err.find("error: writing backups/"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot reach " + S3().Endpoint() + ": "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint: check the network"), std::string::npos) << r.err;
  EXPECT_EQ(r.All().find(secret), std::string::npos) << r.All();
  // Five retries back off for at most 0.2+0.4+0.8+1.6+3.2 s per request.
  EXPECT_LT(seconds, 30) << r.err;

  ASSERT_EQ(S3().Start(), "");
  Listing l = List(repo, env);
  EXPECT_EQ(l.backups, std::vector<std::string>{first_id});
  // Whatever was stored before the server went (the schema files are written beside the
  // data, so they may or may not have finished) is debris that expire removes; the
  // unfinished backup is never listed.
  EXPECT_LE(l.unfinished.size(), 1u);
  auto expire = RunCli({"expire", "--repo", repo, "--unfinished-grace", "0", "--json"}, env);
  ASSERT_EQ(expire.exit_code, 0) << expire.All();
  EXPECT_EQ(expire.Json()["unfinished"].size(), l.unfinished.size()) << expire.out;
  EXPECT_TRUE(List(repo, env).unfinished.empty());
  auto next = Backup(big, repo, env);
  ASSERT_EQ(next.exit_code, 0) << next.All();
  EXPECT_EQ(List(repo, env).backups.size(), 2u);
  ExpectVerifies(repo, env);
}

// Nothing listens at the endpoint: every command fails fast with the endpoint named, and
// a restore creates no database.
TEST(BackupFaults, S3EndpointNotListening) {
  std::string endpoint = "http://127.0.0.1:" + std::to_string(*pg::FindFreePort());
  Env env = With(S3().Env(), {{"PGKEEPER_S3_ENDPOINT", endpoint}});
  std::string db = SmallDatabase("flt_dead");
  auto start = Clock::now();
  auto r = Backup(db, "s3://" + std::string(S3Server::kDefaultBucket) + "/dead", env);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("backup to a dead endpoint failed in %.1f s\n", seconds);
  EXPECT_EQ(r.exit_code, 3) << r.All();
  EXPECT_NE(r.err.find("error: cannot reach " + endpoint + ": "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint: check the network and PGKEEPER_S3_ENDPOINT"), std::string::npos) << r.err;
  EXPECT_LT(seconds, 10);

  std::string target = NewName("flt_dead_restored");
  auto restored = Restore("s3://" + std::string(S3Server::kDefaultBucket) + "/dead", target, env);
  EXPECT_EQ(restored.exit_code, 3) << restored.All();
  EXPECT_NE(restored.err.find("cannot reach " + endpoint), std::string::npos) << restored.err;
  EXPECT_FALSE(DatabaseExists(target));
  auto list = RunCli({"backups", "list", "--repo", "s3://" + std::string(S3Server::kDefaultBucket) + "/dead"}, env);
  EXPECT_EQ(list.exit_code, 3) << list.All();
}

// An encrypted repository on S3: without its key or with another one, backup, restore and
// verify are refused (exit 2) before anything is written or created.
TEST(BackupFaults, S3WrongOrMissingKey) {
  std::string bucket = S3().NewBucket("keys");
  ASSERT_FALSE(bucket.empty());
  std::string repo = "s3://" + bucket + "/enc";
  std::string db = SmallDatabase("flt_keys");
  Env with_key = With(S3().Env(), {{"PGKEEPER_ENCRYPTION_KEY", kKey}});
  std::string wrong_key(64, 'd');
  Env with_wrong = With(S3().Env(), {{"PGKEEPER_ENCRYPTION_KEY", wrong_key}});
  auto first = Backup(db, repo, with_key);
  ASSERT_EQ(first.exit_code, 0) << first.All();
  EXPECT_EQ(first.Json()["encrypted"], true);

  auto r = Backup(db, repo, S3().Env());
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("encrypted and no key"), std::string::npos) << r.err;
  r = Backup(db, repo, with_wrong);
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("wrong encryption key"), std::string::npos) << r.err;
  EXPECT_EQ(r.All().find(wrong_key), std::string::npos);
  Listing l = List(repo, with_key);
  EXPECT_EQ(l.backups.size(), 1u);
  EXPECT_TRUE(l.unfinished.empty());

  std::string target = NewName("flt_keys_restored");
  r = Restore(repo, target, with_wrong);
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("wrong encryption key"), std::string::npos) << r.err;
  EXPECT_FALSE(DatabaseExists(target));
  r = Restore(repo, target, S3().Env());
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("no key"), std::string::npos) << r.err;
  EXPECT_FALSE(DatabaseExists(target));
  auto v = RunCli({"verify", "--all", "--repo", repo}, with_wrong);
  EXPECT_EQ(v.exit_code, 2) << v.All();
  ExpectVerifies(repo, with_key);
  r = Restore(repo, target, with_key);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(TableFingerprints(target), TableFingerprints(db));
}

}  // namespace pgk::test
