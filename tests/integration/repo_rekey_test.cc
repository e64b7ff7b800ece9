// `repo rekey`, `repo info` and listing without a key, on real backups of the harness's
// PostgreSQL: the new key restores and verifies, the old one is refused, data files stay
// byte-identical, and kill -9 at any moment leaves every backup readable with one of the
// two keys and a rerun that finishes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/hash.h"
#include "common/process.h"
#include "harness/harness.h"
#include "repo/repository.h"

namespace pgk::test {

namespace {

namespace stdfs = std::filesystem;

const std::string kKeyA(64, 'a');
const std::string kKeyB(64, 'b');
const std::string kKeyC(64, 'c');

std::string NewName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

std::string Backup(const std::string& db, const std::string& repo, const std::map<std::string, std::string>& env,
                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"backup", "--db", UrlWithPassword(db), "--repo", repo, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = RunCli(args, env);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  return r.exit_code == 0 ? r.Json()["id"].get<std::string>() : "";
}

std::string ReadAll(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string KeyFile(const std::string& name, const std::string& key) {
  std::string path = TempPath(NewName(name));
  std::ofstream(path) << key << "\n";
  ::chmod(path.c_str(), 0600);
  return path;
}

// Relative path -> SHA-256 of every file; `data_only` leaves out what a rekey rewrites
// (manifests, the config) and what any run leaves (locks, temporary files).
std::map<std::string, std::string> Hashes(const std::string& repo, bool data_only) {
  std::map<std::string, std::string> out;
  for (const auto& e : stdfs::recursive_directory_iterator(repo)) {
    if (!e.is_regular_file()) continue;
    std::string rel = stdfs::relative(e.path(), repo).string();
    std::string name = e.path().filename().string();
    if (data_only && (name == "manifest.json" || name == "pgkeeper.repo.json" || rel.rfind("locks/", 0) == 0 ||
                      name.find(".pgk-tmp.") != std::string::npos)) {
      continue;
    }
    out[rel] = Sha256Hex(ReadAll(e.path()));
  }
  return out;
}

// In-process: backup id -> its data key's bytes as `key` unwraps it ("" when it does not).
std::map<std::string, std::string> DataKeys(const std::string& repo, const std::string& key) {
  auto k = pipeline::ParseKey(key, "test");
  auto r = repo::Repository::Open({.url = repo, .key = repo::KeySource::FromKey(*k, "test")});
  std::map<std::string, std::string> out;
  if (!r.ok()) return out;
  auto list = (*r)->ListBackups();
  EXPECT_TRUE(list.ok());
  for (const auto& m : *list) {
    auto dk = (*r)->DataKey(m);
    out[m.id] = dk.ok() && *dk ? std::string((*dk)->bytes.begin(), (*dk)->bytes.end()) : "";
  }
  return out;
}

// Copies of a real backup under new ids: many manifests make a rekey last long enough to
// be killed in the middle of it.
void Clone(const std::string& repo, const std::string& id, int copies) {
  for (int i = 0; i < copies; ++i) {
    std::string clone = repo::BackupId(1577836800 + i, "logical");  // 2020-01-01 onwards
    stdfs::copy(repo + "/backups/" + id, repo + "/backups/" + clone, stdfs::copy_options::recursive);
    auto j = nlohmann::json::parse(ReadAll(repo + "/backups/" + clone + "/manifest.json"));
    j["id"] = clone;
    std::ofstream(repo + "/backups/" + clone + "/manifest.json") << j.dump(2) << "\n";
  }
}

std::string CopyRepo(const std::string& from, const std::string& name) {
  std::string to = TempPath(NewName(name));
  stdfs::copy(from, to, stdfs::copy_options::recursive);
  return to;
}

std::string RekeyPhase(const std::string& repo) {
  auto j = nlohmann::json::parse(ReadAll(repo + "/pgkeeper.repo.json"));
  return j.contains("rekey") ? j["rekey"]["phase"].get<std::string>() : "none";
}

}  // namespace

TEST(RepoRekey, EnvKeyToKeyFileRewrapsWithoutTouchingData) {
  std::string db = CreateExampleDatabase("rk_env", 60);
  std::string repo = TempPath(NewName("rk_env_repo"));
  std::map<std::string, std::string> env_a = {{"PGKEEPER_ENCRYPTION_KEY", kKeyA}};
  std::string first = Backup(db, repo, env_a);
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(Backup(db, repo, env_a, {"--tag", "second"}).empty());
  ASSERT_FALSE(Backup(db, repo, env_a, {"--schema-only"}).empty());
  auto data = Hashes(repo, true);
  auto before = DataKeys(repo, kKeyA);
  ASSERT_EQ(before.size(), 3u);
  std::string new_key = KeyFile("rk_env_key", kKeyB);

  auto no_yes = RunCli({"repo", "rekey", "--repo", repo, "--new-key-file", new_key}, env_a);
  EXPECT_EQ(no_yes.exit_code, 2) << no_yes.All();
  EXPECT_NE(no_yes.err.find("--yes"), std::string::npos);

  auto r = RunCli({"repo", "rekey", "--repo", repo, "--new-key-file", new_key, "--yes", "--json"}, env_a);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto j = r.Json();
  EXPECT_EQ(j["backups"], 3);
  EXPECT_EQ(j["resumed"], false);
  EXPECT_EQ(Hashes(repo, true), data) << "a data file changed";
  EXPECT_EQ(DataKeys(repo, kKeyB), before);

  auto old = RunCli({"verify", "--all", "--repo", repo}, env_a);
  EXPECT_EQ(old.exit_code, 2) << old.All();
  EXPECT_NE(old.err.find("wrong encryption key"), std::string::npos) << old.All();
  auto verify = RunCli({"verify", "--all", "--repo", repo, "--key-file", new_key});
  EXPECT_EQ(verify.exit_code, 0) << verify.All();
  std::string target = NewName("rk_env_target");
  auto restore = RunCli(
      {"restore", first, "--db", UrlWithPassword("postgres"), "--repo", repo, "--into", target, "--key-file", new_key});
  ASSERT_EQ(restore.exit_code, 0) << restore.All();
  EXPECT_EQ(TableFingerprints(target), TableFingerprints(db));

  auto info = RunCli({"repo", "info", "--repo", repo, "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.All();
  auto ij = info.Json();
  EXPECT_EQ(ij["key"]["id"], j["to"]);
  EXPECT_EQ(ij["key"]["kind"], "key");
  EXPECT_TRUE(ij["rekey"].is_null());
  EXPECT_EQ(ij["backups"]["count"], 3);
  EXPECT_TRUE(ij["given_key_id"].is_null());
  EXPECT_TRUE(ij["locks"].empty());
  // Backups go on with the new key, and record it.
  std::string id = Backup(db, repo, {}, {"--key-file", new_key});
  auto show = RunCli({"backups", "show", id, "--repo", repo, "--json"});
  EXPECT_EQ(show.Json()["key_id"], j["to"]);
}

TEST(RepoRekey, PassphraseToPassphrase) {
  std::string db = CreateExampleDatabase("rk_pass", 30);
  std::string repo = TempPath(NewName("rk_pass_repo"));
  std::map<std::string, std::string> old_env = {{"PGKEEPER_ENCRYPTION_PASSPHRASE", "old horse battery"}};
  std::map<std::string, std::string> new_env = {{"PGKEEPER_ENCRYPTION_PASSPHRASE", "new staple correct"}};
  ASSERT_FALSE(Backup(db, repo, old_env).empty());
  ASSERT_FALSE(Backup(db, repo, old_env).empty());
  auto data = Hashes(repo, true);
  auto info = RunCli({"repo", "info", "--repo", repo, "--json"});
  EXPECT_EQ(info.Json()["key"]["kind"], "passphrase");

  auto r = RunCli({"repo", "rekey", "--repo", repo, "--yes"},
                  {{"PGKEEPER_ENCRYPTION_PASSPHRASE", "old horse battery"},
                   {"PGKEEPER_NEW_ENCRYPTION_PASSPHRASE", "new staple correct"}});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("2 backup(s)"), std::string::npos) << r.out;
  EXPECT_EQ(Hashes(repo, true), data);
  auto old = RunCli({"verify", "--all", "--repo", repo}, old_env);
  EXPECT_EQ(old.exit_code, 2) << old.All();
  EXPECT_NE(old.err.find("wrong encryption key"), std::string::npos) << old.All();
  auto verify = RunCli({"verify", "--all", "--repo", repo}, new_env);
  EXPECT_EQ(verify.exit_code, 0) << verify.All();
  // The repository wants a passphrase: a 256-bit key is refused as the wrong kind.
  auto kind = RunCli({"verify", "--all", "--repo", repo}, {{"PGKEEPER_ENCRYPTION_KEY", kKeyA}});
  EXPECT_EQ(kind.exit_code, 2);
  EXPECT_NE(kind.err.find("passphrase"), std::string::npos) << kind.All();
}

TEST(RepoRekey, WrongCurrentKeyChangesNothing) {
  std::string db = CreateExampleDatabase("rk_wrong", 10);
  std::string repo = TempPath(NewName("rk_wrong_repo"));
  ASSERT_FALSE(Backup(db, repo, {{"PGKEEPER_ENCRYPTION_KEY", kKeyA}}).empty());
  auto all = Hashes(repo, false);
  auto r = RunCli({"repo", "rekey", "--repo", repo, "--yes"},
                  {{"PGKEEPER_ENCRYPTION_KEY", kKeyC}, {"PGKEEPER_NEW_ENCRYPTION_KEY", kKeyB}});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("wrong encryption key"), std::string::npos) << r.All();
  EXPECT_EQ(Hashes(repo, false), all);
  auto same = RunCli({"repo", "rekey", "--repo", repo, "--yes"},
                     {{"PGKEEPER_ENCRYPTION_KEY", kKeyA}, {"PGKEEPER_NEW_ENCRYPTION_KEY", kKeyA}});
  EXPECT_EQ(same.exit_code, 2) << same.All();
  EXPECT_EQ(Hashes(repo, false), all);

  std::string plain = TempPath(NewName("rk_plain_repo"));
  ASSERT_FALSE(Backup(db, plain, {}).empty());
  auto unencrypted = RunCli({"repo", "rekey", "--repo", plain, "--yes"},
                            {{"PGKEEPER_ENCRYPTION_KEY", kKeyA}, {"PGKEEPER_NEW_ENCRYPTION_KEY", kKeyB}});
  EXPECT_EQ(unencrypted.exit_code, 2);
  EXPECT_NE(unencrypted.err.find("not encrypted"), std::string::npos) << unencrypted.All();
}

TEST(RepoRekey, ListingNeedsNoKeyRestoringDoes) {
  std::string db = CreateExampleDatabase("rk_list", 10);
  std::string repo = TempPath(NewName("rk_list_repo"));
  std::string id = Backup(db, repo, {{"PGKEEPER_ENCRYPTION_KEY", kKeyA}});
  ASSERT_FALSE(id.empty());
  auto list = RunCli({"backups", "list", "--repo", repo, "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.All();
  EXPECT_EQ(list.Json()["backups"][0]["id"], id);
  EXPECT_EQ(list.Json()["backups"][0]["cipher"], "aes-256-gcm");
  auto show = RunCli({"backups", "show", id, "--repo", repo});
  ASSERT_EQ(show.exit_code, 0) << show.All();
  EXPECT_NE(show.out.find("aes-256-gcm, data key wrapped by key "), std::string::npos) << show.out;
  auto info = RunCli({"repo", "info", "--repo", repo});
  ASSERT_EQ(info.exit_code, 0) << info.All();
  EXPECT_NE(info.out.find("none (not needed here)"), std::string::npos) << info.out;
  std::string target = NewName("rk_list_target");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"restore", "--db", UrlWithPassword("postgres"), "--repo", repo, "--into", target},
           {"verify", "--repo", repo},
           {"backups", "export", id, TempPath(NewName("rk_list_export")), "--repo", repo}}) {
    auto r = RunCli(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.All();
    EXPECT_NE(r.err.find("is encrypted and no key was given"), std::string::npos) << r.All();
    EXPECT_NE(r.err.find("PGKEEPER_ENCRYPTION_KEY"), std::string::npos) << r.All();
  }
  // A wrong key is still refused when given.
  EXPECT_EQ(RunCli({"backups", "list", "--repo", repo}, {{"PGKEEPER_ENCRYPTION_KEY", kKeyB}}).exit_code, 2);
}

TEST(RepoRekey, ALiveLockKeepsRekeyAndBackupsOut) {
  std::string db = CreateExampleDatabase("rk_lock", 10);
  std::string repo = TempPath(NewName("rk_lock_repo"));
  std::map<std::string, std::string> env = {{"PGKEEPER_ENCRYPTION_KEY", kKeyA}, {"PGKEEPER_NEW_ENCRYPTION_KEY", kKeyB}};
  ASSERT_FALSE(Backup(db, repo, env).empty());
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  // This test process stands for a rekey running elsewhere in the same host: alive.
  stdfs::create_directories(repo + "/locks");
  nlohmann::json lock = {{"mode", "exclusive"},
                         {"purpose", "repo rekey"},
                         {"host", host},
                         {"pid", ::getpid()},
                         {"acquired", repo::Iso8601(std::time(nullptr))},
                         {"refreshed", repo::Iso8601(std::time(nullptr))}};
  std::ofstream(repo + "/locks/exclusive-test.json") << lock.dump();
  auto rekey = RunCli({"repo", "rekey", "--repo", repo, "--yes"}, env);
  EXPECT_EQ(rekey.exit_code, 2) << rekey.All();
  EXPECT_NE(rekey.err.find("in use by repo rekey (exclusive) by pid " + std::to_string(::getpid())), std::string::npos)
      << rekey.All();
  auto backup = RunCli({"backup", "--db", UrlWithPassword(db), "--repo", repo}, env);
  EXPECT_EQ(backup.exit_code, 2) << backup.All();
  EXPECT_NE(backup.err.find("backup cannot start"), std::string::npos) << backup.All();
  auto info = RunCli({"repo", "info", "--repo", repo, "--json"});
  ASSERT_EQ(info.Json()["locks"].size(), 1u);
  EXPECT_EQ(info.Json()["locks"][0]["stale"], false);
  // The same object naming a process that is gone: stale at once.
  lock["pid"] = (1 << 22) + 1;
  std::ofstream(repo + "/locks/exclusive-test.json") << lock.dump();
  EXPECT_EQ(RunCli({"repo", "rekey", "--repo", repo, "--yes"}, env).exit_code, 0);
  EXPECT_FALSE(stdfs::exists(repo + "/locks/exclusive-test.json"));
}

TEST(RepoRekey, KillNineAtAnyMomentLeavesEveryBackupReadableAndARerunFinishes) {
  std::string db = CreateExampleDatabase("rk_kill", 10);
  std::string pristine = TempPath(NewName("rk_kill_repo"));
  std::map<std::string, std::string> env = {{"PGKEEPER_ENCRYPTION_KEY", kKeyA}, {"PGKEEPER_NEW_ENCRYPTION_KEY", kKeyB}};
  std::string id = Backup(db, pristine, env);
  ASSERT_FALSE(id.empty());
  ASSERT_FALSE(Backup(db, pristine, env).empty());
  Clone(pristine, id, 30);
  auto data = Hashes(pristine, true);
  auto keys = DataKeys(pristine, kKeyA);
  ASSERT_EQ(keys.size(), 32u);

  // How long an uninterrupted rekey takes here, so that the kills sweep all of it.
  std::string timed = CopyRepo(pristine, "rk_kill_timed");
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(RunCli({"repo", "rekey", "--repo", timed, "--yes"}, env).exit_code, 0);
  double full_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  stdfs::remove_all(timed);

  constexpr int kRuns = 12;
  std::map<std::string, int> seen;
  for (int i = 0; i < kRuns; ++i) {
    SCOPED_TRACE("run " + std::to_string(i));
    std::string repo = CopyRepo(pristine, "rk_kill_run");
    ProcessOptions po;
    po.argv = {BinaryPath(), "repo", "rekey", "--repo", repo, "--yes"};
    po.env = env;
    po.output_file = repo + ".log";
    auto p = Process::Spawn(po);
    ASSERT_TRUE(p.ok());
    if (i % 2 == 0) {
      // Even runs sweep the whole command, start-up and listing included.
      std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(full_ms * 1000 * (i + 0.5) / kRuns)));
    } else {
      // Odd runs sweep the rewrapping itself, which 8 parallel rewrites make a small part
      // of the whole: from the moment the config records the rekey state, 0-5 ms later.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(full_ms) + 2000);
      while (std::chrono::steady_clock::now() < deadline) {
        auto text = ReadAll(repo + "/pgkeeper.repo.json");
        if (text.find("\"rekey\"") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(1000 * (i / 2)));
    }
    p->Signal(SIGKILL);
    p->Wait();
    std::string phase = RekeyPhase(repo);
    auto by_old = DataKeys(repo, kKeyA), by_new = DataKeys(repo, kKeyB);
    seen[phase == "none" ? (by_new.empty() ? "not started" : "finished") : phase]++;
    for (const auto& [backup, key] : keys) {
      EXPECT_TRUE(by_old[backup] == key || by_new[backup] == key)
          << backup << " opens with neither key (" << phase << ")";
    }
    if (phase != "none") {
      auto b = RunCli({"backup", "--db", UrlWithPassword(db), "--repo", repo}, env);
      EXPECT_EQ(b.exit_code, 2) << b.All();
      EXPECT_NE(b.err.find("unfinished"), std::string::npos) << b.All();
    }
    auto rerun = RunCli({"repo", "rekey", "--repo", repo, "--yes"}, env);
    ASSERT_EQ(rerun.exit_code, 0) << rerun.All();
    EXPECT_EQ(DataKeys(repo, kKeyB), keys);
    EXPECT_TRUE(DataKeys(repo, kKeyA).empty());
    EXPECT_EQ(RekeyPhase(repo), "none");
    EXPECT_EQ(Hashes(repo, true), data);
    stdfs::remove_all(repo);
  }
  std::string summary;
  for (const auto& [state, n] : seen) summary += state + ": " + std::to_string(n) + "  ";
  std::printf("rekey of 32 backups took %.0f ms; killed runs: %s\n", full_ms, summary.c_str());
  EXPECT_GT(seen["rewrap"] + seen["cleanup"], 0) << summary;
}

}  // namespace pgk::test
