// repo rekey on the memory driver: the crash-safety argument of repo/rekey.h checked at
// every write (the store turns read-only after the k-th write, as if the process died
// there), reruns, retargeting, refusals, and opening without a key.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "repo/rekey.h"
#include "repo/wal_info.h"
#include "storage/memory/memory_storage.h"

namespace pgk::repo {

namespace {

// Forwards to one shared store (each Repository::Open wants its own Storage object) and,
// after `budget` writes, makes the store read-only: every later write or removal fails.
class Budgeted : public storage::Storage {
 public:
  Budgeted(std::shared_ptr<storage::MemoryStorage> mem, int* budget) : mem_(std::move(mem)), budget_(budget) {}
  std::string Url() const override { return mem_->Url(); }
  storage::Features features() const override { return mem_->features(); }
  Result<std::unique_ptr<storage::Writer>> OpenWrite(const std::string& path, const storage::WriteOptions& o) override {
    if (*budget_ >= 0 && (*budget_)-- == 0) mem_->SetReadOnly(true);
    return mem_->OpenWrite(path, o);
  }
  Result<std::unique_ptr<storage::Reader>> OpenRead(const std::string& path) override { return mem_->OpenRead(path); }
  Result<std::optional<storage::FileInfo>> Stat(const std::string& path) override { return mem_->Stat(path); }
  Result<std::vector<storage::FileInfo>> List(const std::string& prefix) override { return mem_->List(prefix); }
  Status Remove(const std::string& path) override { return mem_->Remove(path); }
  Status RemovePrefix(const std::string& prefix) override { return mem_->RemovePrefix(prefix); }

 private:
  std::shared_ptr<storage::MemoryStorage> mem_;
  int* budget_;
};

KeySource KeyOf(char c) {
  pipeline::Key k;
  k.bytes.fill(static_cast<uint8_t>(c));
  return KeySource::FromKey(k, std::string("test key ") + c);
}

struct Fixture {
  std::shared_ptr<storage::MemoryStorage> mem = std::make_shared<storage::MemoryStorage>("rekey");
  int budget = -1;                                 // unlimited
  std::map<std::string, pipeline::Key> data_keys;  // manifest id or "wal" -> data key

  OpenOptions Options(const KeySource& key) {
    return {.url = "memory://rekey", .key = key, .open_storage = [this]() -> Result<std::unique_ptr<storage::Storage>> {
              return std::unique_ptr<storage::Storage>(new Budgeted(mem, &budget));
            }};
  }

  // An encrypted repository with `n` backups and a WAL archive.
  void Create(const KeySource& key, int n) {
    OpenOptions o = Options(key);
    o.create = true;
    auto repo = Repository::Open(o);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    for (int i = 0; i < n; ++i) {
      Manifest m;
      m.id = BackupId(1795309323 + i, "logical");
      m.type = "logical";
      m.start_time = m.stop_time = Iso8601(1795309323 + i);
      m.cipher = "aes-256-gcm";
      pipeline::Key dk = pipeline::RandomKey();
      m.wrapped_data_key = pipeline::WrapKey(*(*repo)->repo_key(), dk);
      ASSERT_TRUE((*repo)->WriteManifest(m).ok());
      data_keys[m.id] = dk;
    }
    WalArchiveInfo wal;
    wal.cipher = "aes-256-gcm";
    data_keys["wal"] = pipeline::RandomKey();
    wal.wrapped_data_key = pipeline::WrapKey(*(*repo)->repo_key(), data_keys["wal"]);
    ASSERT_TRUE(mem->Put(kWalArchiveInfoPath, SerializeWalArchiveInfo(wal)).ok());
  }

  // How many data keys `key` unwraps correctly (-1: it does not open the repository).
  int Opens(const KeySource& key) {
    auto repo = Repository::Open(Options(key));
    if (!repo.ok()) return -1;
    auto list = (*repo)->ListBackups();
    EXPECT_TRUE(list.ok());
    int n = 0;
    for (const auto& m : *list) {
      auto k = (*repo)->DataKey(m);
      if (k.ok() && **k == data_keys[m.id]) ++n;
    }
    auto wal = nlohmann::json::parse(*mem->Get(kWalArchiveInfoPath));
    auto k = (*repo)->UnwrapDataKey({wal.value("wrapped_data_key", ""), wal.value("key_id", ""),
                                     wal.value("rekey_wrapped_data_key", ""), wal.value("rekey_key_id", "")},
                                    "wal");
    if (k.ok() && *k == data_keys["wal"]) ++n;
    return n;
  }

  Result<RekeyResult> Rekey(const KeySource& from, const KeySource& to) {
    return repo::Rekey({.open = Options(from), .next = to});
  }

  std::map<std::string, std::string> Files() {
    std::map<std::string, std::string> out;
    auto files = mem->List("");
    for (const auto& f : *files) out[f.path] = *mem->Get(f.path);
    return out;
  }
};

constexpr int kBackups = 4;

}  // namespace

TEST(RepoRekey, RewrapsEveryDataKeyAndRefusesTheOldKey) {
  Fixture f;
  f.Create(KeyOf('a'), kBackups);
  auto r = f.Rekey(KeyOf('a'), KeyOf('b'));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->backups, static_cast<size_t>(kBackups));
  EXPECT_TRUE(r->wal_archive);
  EXPECT_EQ(r->to_id, pipeline::KeyId(*KeyOf('b').KekFor({})));
  EXPECT_EQ(f.Opens(KeyOf('a')), -1);
  EXPECT_EQ(f.Opens(KeyOf('b')), kBackups + 1);
  auto old = Repository::Open(f.Options(KeyOf('a')));
  EXPECT_NE(old.status().message().find("wrong encryption key"), std::string::npos) << old.status().ToString();
  for (const auto& [path, text] : f.Files()) {
    EXPECT_EQ(text.find("rekey_"), std::string::npos) << path;
    EXPECT_EQ(path.find("locks/"), std::string::npos) << "lock left behind: " << path;
  }
}

TEST(RepoRekey, EveryCrashPointLeavesOneKeyThatOpensEverythingAndARerunFinishes) {
  int writes = 0;
  for (int k = 0;; ++k) {
    Fixture f;
    f.Create(KeyOf('a'), kBackups);
    f.budget = k;
    auto r = f.Rekey(KeyOf('a'), KeyOf('b'));
    f.budget = -1;
    f.mem->SetReadOnly(false);
    if (r.ok()) {
      writes = k;
      break;
    }
    ASSERT_LT(k, 100) << "the rekey never finishes";
    int old_opens = f.Opens(KeyOf('a')), new_opens = f.Opens(KeyOf('b'));
    EXPECT_TRUE(old_opens == kBackups + 1 || new_opens == kBackups + 1)
        << "crash after write " << k << ": old key opens " << old_opens << ", new key " << new_opens;
    // What a dead process leaves: its lock object, stale once its pid is gone. This
    // process lives on, so remove it as a stale-lock check would.
    ASSERT_TRUE(f.mem->RemovePrefix("locks/").ok());
    auto rerun = f.Rekey(KeyOf('a'), KeyOf('b'));
    ASSERT_TRUE(rerun.ok()) << "crash after write " << k << ": " << rerun.status().ToString();
    EXPECT_EQ(f.Opens(KeyOf('a')), -1) << k;
    EXPECT_EQ(f.Opens(KeyOf('b')), kBackups + 1) << k;
  }
  // lock, config, 5 + 5 wrapped keys, config, config, lock removal is not a write
  EXPECT_EQ(writes, 1 + 1 + 2 * (kBackups + 1) + 2);
}

TEST(RepoRekey, UnfinishedRewrapCanTakeAnotherNewKeyButACommittedOneCannot) {
  Fixture f;
  f.Create(KeyOf('a'), kBackups);
  f.budget = 4;  // lock, config, two manifests
  ASSERT_FALSE(f.Rekey(KeyOf('a'), KeyOf('b')).ok());
  f.mem->SetReadOnly(false);
  f.budget = -1;
  ASSERT_TRUE(f.mem->RemovePrefix("locks/").ok());
  auto r = f.Rekey(KeyOf('a'), KeyOf('c'));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->retargeted);
  EXPECT_EQ(f.Opens(KeyOf('c')), kBackups + 1);
  EXPECT_EQ(f.Opens(KeyOf('b')), -1);

  Fixture g;
  g.Create(KeyOf('a'), kBackups);
  g.budget = 2 + (kBackups + 1) + 1;  // through the commit
  ASSERT_FALSE(g.Rekey(KeyOf('a'), KeyOf('b')).ok());
  g.mem->SetReadOnly(false);
  g.budget = -1;
  ASSERT_TRUE(g.mem->RemovePrefix("locks/").ok());
  auto other = g.Rekey(KeyOf('a'), KeyOf('c'));
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("already made key"), std::string::npos) << other.status().ToString();
  auto swapped = g.Rekey(KeyOf('b'), KeyOf('a'));
  ASSERT_FALSE(swapped.ok());
  EXPECT_NE(swapped.status().message().find("new key of the unfinished"), std::string::npos);
  EXPECT_TRUE(g.Rekey(KeyOf('a'), KeyOf('b')).ok());
  EXPECT_TRUE(g.Rekey(KeyOf('a'), KeyOf('b'))->already_done);
}

TEST(RepoRekey, WrongCurrentKeyChangesNothing) {
  Fixture f;
  f.Create(KeyOf('a'), kBackups);
  auto before = f.Files();
  auto r = f.Rekey(KeyOf('x'), KeyOf('b'));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("wrong encryption key"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(f.Files(), before);
  auto same = f.Rekey(KeyOf('a'), KeyOf('a'));
  EXPECT_EQ(same.status().code(), Code::kRefused);
  EXPECT_EQ(f.Files(), before);
}

TEST(RepoRekey, PassphraseToPassphraseStoresANewSalt) {
  Fixture f;
  f.Create(KeySource::FromPassphrase("correct horse", "test"), 1);
  std::string salt = f.mem->Get(kConfigPath)->substr(0);
  auto r =
      f.Rekey(KeySource::FromPassphrase("correct horse", "test"), KeySource::FromPassphrase("battery staple", "t"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto config = ParseRepoConfig(*f.mem->Get(kConfigPath), "config");
  ASSERT_TRUE(config.ok() && config->key.kdf.has_value());
  EXPECT_EQ(salt.find(config->key.kdf->salt), std::string::npos);
  EXPECT_EQ(f.Opens(KeySource::FromPassphrase("battery staple", "t")), 2);
  EXPECT_EQ(f.Opens(KeySource::FromPassphrase("correct horse", "t")), -1);
  // A key where the repository wants a passphrase: said so, not "wrong key".
  auto kind = Repository::Open(f.Options(KeyOf('a')));
  EXPECT_EQ(kind.status().code(), Code::kRefused);
  EXPECT_NE(kind.status().message().find("passphrase"), std::string::npos) << kind.status().ToString();
}

TEST(RepoRekey, RefusesAnUnencryptedRepository) {
  Fixture f;
  OpenOptions o = f.Options(KeySource());
  o.create = true;
  ASSERT_TRUE(Repository::Open(o).ok());
  auto r = f.Rekey(KeyOf('a'), KeyOf('b'));
  EXPECT_EQ(r.status().code(), Code::kRefused);
  EXPECT_NE(r.status().message().find("not encrypted"), std::string::npos) << r.status().ToString();
}

TEST(RepoRekey, BackupsAreRefusedWhileARekeyIsUnfinished) {
  Fixture f;
  f.Create(KeyOf('a'), kBackups);
  f.budget = 3;
  ASSERT_FALSE(f.Rekey(KeyOf('a'), KeyOf('b')).ok());
  f.mem->SetReadOnly(false);
  f.budget = -1;
  ASSERT_TRUE(f.mem->RemovePrefix("locks/").ok());
  OpenOptions o = f.Options(KeyOf('a'));
  o.lock = LockMode::kShared;
  o.lock_purpose = "backup";
  auto backup = Repository::Open(o);
  EXPECT_EQ(backup.status().code(), Code::kRefused);
  EXPECT_NE(backup.status().message().find("unfinished"), std::string::npos) << backup.status().ToString();
  // Readers still work, with either key.
  EXPECT_EQ(f.Opens(KeyOf('a')), kBackups + 1);
  EXPECT_GE(f.Opens(KeyOf('b')), 0);
}

TEST(RepoRekey, ARunningBackupKeepsARekeyOut) {
  Fixture f;
  f.Create(KeyOf('a'), 1);
  OpenOptions o = f.Options(KeyOf('a'));
  o.lock = LockMode::kShared;
  o.lock_purpose = "backup";
  auto backup = Repository::Open(o);
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  auto r = f.Rekey(KeyOf('a'), KeyOf('b'));
  EXPECT_EQ(r.status().code(), Code::kRefused);
  EXPECT_NE(r.status().message().find("in use by backup (shared)"), std::string::npos) << r.status().ToString();
  backup->reset();  // releases the lock
  EXPECT_TRUE(f.Rekey(KeyOf('a'), KeyOf('b')).ok());
}

TEST(RepoRekey, ListingNeedsNoKeyButDataKeysDo) {
  Fixture f;
  f.Create(KeyOf('a'), 2);
  EXPECT_EQ(Repository::Open(f.Options(KeySource())).status().code(), Code::kRefused);
  OpenOptions o = f.Options(KeySource());
  o.metadata_only = true;
  auto repo = Repository::Open(o);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  auto list = (*repo)->ListBackups();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].key_id, (*repo)->config().key.id);
  auto k = (*repo)->DataKey((*list)[0]);
  EXPECT_EQ(k.status().code(), Code::kRefused);
  EXPECT_NE(k.status().message().find("no key was given"), std::string::npos);
  // A key that is given is still checked.
  o.key = KeyOf('z');
  EXPECT_EQ(Repository::Open(o).status().code(), Code::kMalformed);
}

}  // namespace pgk::repo
