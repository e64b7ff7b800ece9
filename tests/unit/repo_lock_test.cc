// The repository lock (shared/exclusive objects under locks/, staleness), the repository
// config's JSON with a rekey state, key ids and key sources.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/mask.h"
#include "repo/key_source.h"
#include "repo/lock.h"
#include "repo/manifest.h"
#include "repo/repo_config.h"
#include "storage/memory/memory_storage.h"

namespace pgk::repo {

namespace {

std::string Host() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// A lock object as another process would have written it.
void PutLock(storage::Storage& st, const std::string& name, const std::string& mode, const std::string& host,
             int64_t pid, int64_t refreshed_ago_s) {
  nlohmann::json j = {{"mode", mode},
                      {"purpose", "backup"},
                      {"host", host},
                      {"pid", pid},
                      {"acquired", Iso8601(std::time(nullptr) - refreshed_ago_s)},
                      {"refreshed", Iso8601(std::time(nullptr) - refreshed_ago_s)},
                      {"stale_after_s", kLockStaleAfterS}};
  ASSERT_TRUE(st.Put(std::string(kLockDir) + name, j.dump()).ok());
}

size_t LockCount(storage::Storage& st) { return st.List(kLockDir)->size(); }

}  // namespace

TEST(RepoLock, SharedHoldersCoexistAndExcludeAnExclusiveOne) {
  storage::MemoryStorage st("locks");
  auto a = RepoLock::Acquire(st, LockMode::kShared, "backup");
  auto b = RepoLock::Acquire(st, LockMode::kShared, "expire/drill");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(LockCount(st), 2u);
  auto x = RepoLock::Acquire(st, LockMode::kExclusive, "repo rekey");
  ASSERT_FALSE(x.ok());
  EXPECT_EQ(x.status().code(), Code::kRefused);
  EXPECT_NE(x.status().message().find("repo rekey cannot start"), std::string::npos) << x.status().ToString();
  EXPECT_NE(x.status().message().find("by pid " + std::to_string(getpid())), std::string::npos);
  EXPECT_EQ(LockCount(st), 2u) << "the refused holder removes its own object";
  a->reset();
  b->reset();
  EXPECT_EQ(LockCount(st), 0u);
  x = RepoLock::Acquire(st, LockMode::kExclusive, "repo rekey");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(RepoLock::Acquire(st, LockMode::kShared, "backup").status().code(), Code::kRefused);
  EXPECT_EQ(RepoLock::Acquire(st, LockMode::kExclusive, "repo rekey").status().code(), Code::kRefused);
}

TEST(RepoLock, StaleObjectsAreRemovedLiveOnesAreNot) {
  storage::MemoryStorage st("stale");
  // A process on this host that no longer exists (pid_max is at most 2^22).
  PutLock(st, "shared-dead.json", "shared", Host(), (int64_t{1} << 22) + 1, 0);
  // Another host that stopped refreshing long ago.
  PutLock(st, "exclusive-old.json", "exclusive", "elsewhere", 1, kLockStaleAfterS + 60);
  auto listed = ListLocks(st);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  for (const auto& l : *listed) EXPECT_TRUE(l.stale) << l.Describe();
  auto x = RepoLock::Acquire(st, LockMode::kExclusive, "repo rekey");
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(LockCount(st), 1u);
  x->reset();
  // Another host, refreshed recently: it may well be running.
  PutLock(st, "shared-live.json", "shared", "elsewhere", 1, 10);
  auto refused = RepoLock::Acquire(st, LockMode::kExclusive, "repo rekey");
  EXPECT_EQ(refused.status().code(), Code::kRefused);
  EXPECT_NE(refused.status().message().find("on host elsewhere"), std::string::npos);
  // A damaged object blocks until it is as old as a stale one.
  storage::MemoryStorage st2("damaged");
  ASSERT_TRUE(st2.Put("locks/exclusive-x.json", "{not json").ok());
  EXPECT_EQ(RepoLock::Acquire(st2, LockMode::kShared, "backup").status().code(), Code::kRefused);
}

TEST(RepoConfig, RoundTripsWithARekeyState) {
  RepoConfig c;
  c.created = "2026-11-22T01:02:03Z";
  c.encrypted = true;
  c.key = {.id = "00112233aabbccdd", .check = "check-a"};
  c.rekey = RekeyState{.phase = RekeyPhase::kCleanup,
                       .started = "2026-11-23T00:00:00Z",
                       .from = c.key,
                       .to = {.id = "ffeeddcc00112233",
                              .check = "check-b",
                              .kdf = KdfSpec{.salt = "c2FsdHNhbHRzYWx0c2FsdA==", .n = 32768, .r = 8, .p = 1}}};
  auto parsed = ParseRepoConfig(SerializeRepoConfig(c), "config");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, c);
  ASSERT_EQ(parsed->AcceptedKeys().size(), 2u);
  EXPECT_EQ(parsed->AcceptedKeys()[1]->id, "00112233aabbccdd");  // cleanup: the other key is `from`
  c.rekey.reset();
  EXPECT_EQ(ParseRepoConfig(SerializeRepoConfig(c), "config")->AcceptedKeys().size(), 1u);
}

TEST(RepoConfig, ReadsConfigsWrittenBeforeKeyIdsAndRefusesUnknownPhases) {
  auto old = ParseRepoConfig(R"({"format": 1, "created": "x", "encrypted": true, "key_check": "abc"})", "config");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->key.id, "");
  EXPECT_EQ(old->key.check, "abc");
  auto phase = ParseRepoConfig(
      R"({"format": 1, "encrypted": true, "key_check": "a", "rekey": {"phase": "later", "from": {}, "to": {}}})", "c");
  EXPECT_EQ(phase.status().code(), Code::kMalformed);
  EXPECT_EQ(ParseRepoConfig(R"({"format": 2, "encrypted": false})", "c").status().code(), Code::kMalformed);
  EXPECT_EQ(ParseRepoConfig(R"({"format": 1, "encrypted": true})", "c").status().code(), Code::kMalformed);
}

TEST(RepoKeys, KeyIdsAreStableAndDistinct) {
  pipeline::Key a, b;
  a.bytes.fill(1);
  b.bytes.fill(2);
  EXPECT_EQ(pipeline::KeyId(a), pipeline::KeyId(a));
  EXPECT_NE(pipeline::KeyId(a), pipeline::KeyId(b));
  EXPECT_EQ(pipeline::KeyId(a).size(), 16u);
}

TEST(RepoKeys, SourcesUnlockOnlyTheirOwnKindOfEntry) {
  pipeline::Key raw;
  raw.bytes.fill(7);
  auto key = KeySource::FromKey(raw, "test key");
  auto entry = key.NewEntry();
  ASSERT_TRUE(entry.ok());
  EXPECT_FALSE(entry->first.kdf.has_value());
  EXPECT_TRUE(Unlock(key, entry->first).ok());
  auto pass = KeySource::FromPassphrase("open sesame", "test passphrase");
  auto pentry = pass.NewEntry();
  ASSERT_TRUE(pentry.ok());
  ASSERT_TRUE(pentry->first.kdf.has_value());
  EXPECT_EQ(pentry->first.kdf->n, uint64_t{1} << 15);
  EXPECT_TRUE(Unlock(pass, pentry->first).ok());
  EXPECT_EQ(Unlock(KeySource::FromPassphrase("open simsim", "t"), pentry->first).status().code(), Code::kMalformed);
  EXPECT_EQ(Unlock(key, pentry->first).status().code(), Code::kRefused);
  EXPECT_EQ(Unlock(pass, entry->first).status().code(), Code::kRefused);
  // Two entries of one passphrase differ (fresh salts), so their ids do too.
  EXPECT_NE(pass.NewEntry()->first.id, pentry->first.id);
}

TEST(RepoKeys, BothVariablesOfOneKindAreAnError) {
  setenv("PGKEEPER_NEW_ENCRYPTION_KEY", std::string(64, 'a').c_str(), 1);
  setenv("PGKEEPER_NEW_ENCRYPTION_PASSPHRASE", "words", 1);
  auto both = KeySource::New("");
  EXPECT_EQ(both.status().code(), Code::kInvalidArgument);
  unsetenv("PGKEEPER_NEW_ENCRYPTION_KEY");
  auto pass = KeySource::New("");
  ASSERT_TRUE(pass.ok());
  EXPECT_TRUE(pass->is_passphrase());
  unsetenv("PGKEEPER_NEW_ENCRYPTION_PASSPHRASE");
  EXPECT_EQ(KeySource::New("").status().code(), Code::kConfig);
}

TEST(RepoKeys, KeyAndPassphraseVariablesAreMasked) {
  for (const char* var :
       {"PGKEEPER_ENCRYPTION_PASSPHRASE", "PGKEEPER_NEW_ENCRYPTION_KEY", "PGKEEPER_NEW_ENCRYPTION_PASSPHRASE"}) {
    EXPECT_EQ(MaskSecrets(std::string("env ") + var + "=hunter2 pgkeeper"),
              std::string("env ") + var + "=*** pgkeeper");
  }
}

}  // namespace pgk::repo
