// A backup repository on any storage: its config (pgkeeper.repo.json), its backups (a
// manifest each, written last) and the keys that open them. The one place that knows the
// repository layout (docs/repository-format.md); commands go through it.
//
// Encryption: a repository is created encrypted when a key is given (key_source.h: a
// 256-bit key or a passphrase). The config then holds a "key check": a random key wrapped
// by the repository key, so a wrong key is refused before any data is read. Each backup
// has its own random data key, wrapped by the repository key in its manifest along with
// that key's id; `repo rekey` (rekey.h) rewraps those and never touches data files.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "pipeline/key.h"
#include "pipeline/pipeline.h"
#include "repo/key_source.h"
#include "repo/lock.h"
#include "repo/manifest.h"
#include "repo/repo_config.h"
#include "storage/storage.h"

namespace pgk::repo {

struct OpenOptions {
  std::string url;
  std::string key_file;       // optional; PGKEEPER_ENCRYPTION_KEY wins when set
  bool create = false;        // create the config when the repository is new (backup)
  // Open an encrypted repository without its key: manifests can be listed and shown, no
  // data key unwraps. A key that is given is still checked.
  bool metadata_only = false;
  // Held until the Repository is destroyed (lock.h). Shared holders are also refused while
  // a rekey is unfinished: what they write would be wrapped by one key only.
  LockMode lock = LockMode::kNone;
  std::string lock_purpose;   // shown to whoever the lock refuses, e.g. "backup"
  // Instead of the environment and key_file (repo rekey, tests).
  std::optional<KeySource> key;
  storage::StorageOptions storage;
  // Tests: storage to use instead of opening `url` (e.g. a fault-injecting wrapper).
  std::function<Result<std::unique_ptr<storage::Storage>>()> open_storage;
};

// A data key as stored: wrapped by the key `key_id` ("" before key ids), and while a rekey
// is under way also by `rekey_key_id`.
struct WrappedDataKey {
  std::string wrapped, key_id, rekey_wrapped, rekey_key_id;
};

class Repository {
 public:
  // Opens (and with create, initialises) the repository. Errors: NotFound when it does
  // not exist and create is false; Refused when the repository is encrypted and no key is
  // given (unless metadata_only), or a key is given for an unencrypted one, or the lock is
  // taken; Malformed "wrong encryption key" when the key opens none of the accepted key
  // checks (the repository's, and during a rekey the other one).
  static Result<std::unique_ptr<Repository>> Open(const OpenOptions& options);

  storage::Storage& storage() { return *storage_; }
  const RepoConfig& config() const { return config_; }
  std::string Url() const { return storage_->Url(); }
  // The key-encryption key the repository was opened with (nullptr: unencrypted, or
  // metadata_only without a key) and its id.
  const pipeline::Key* repo_key() const { return key_ ? &*key_ : nullptr; }
  const std::string& key_id() const { return key_id_; }
  // Writes the config atomically (rekey).
  Status WriteConfig(const RepoConfig& config);

  // Complete backups (those with a manifest), oldest first. Damaged manifests are
  // reported through `problems` and left out.
  Result<std::vector<Manifest>> ListBackups(std::vector<std::string>* problems = nullptr);
  // "latest" (optionally of a type / tag) or an id.
  Result<Manifest> LoadBackup(const std::string& id_or_latest, const std::string& type = "");
  // Backup directories without a manifest: unfinished (killed, failed) backups.
  Result<std::vector<std::string>> ListUnfinished();

  // The data key of a backup (unwrapped), or nullopt for unencrypted backups. Refused
  // without a key; Malformed when no wrapping is by this key (naming the keys that are).
  Result<std::optional<pipeline::Key>> DataKey(const Manifest& m);
  // The same for any wrapped data key (`what` names it in errors).
  Result<pipeline::Key> UnwrapDataKey(const WrappedDataKey& w, const std::string& what) const;
  // A reader of one file of a backup through the verifying read pipeline.
  Result<std::unique_ptr<storage::Reader>> OpenFile(const Manifest& m, const ManifestFile& f,
                                                    const pipeline::Key* data_key);
  // Writes the manifest (atomically, last), recording which key wrapped its data key.
  // Refused for an unencrypted manifest in an encrypted repository.
  Status WriteManifest(const Manifest& m);
  Status RemoveBackup(const std::string& id);

 private:
  Repository() = default;
  std::unique_ptr<storage::Storage> storage_;
  std::unique_ptr<RepoLock> lock_;  // after storage_: released before the storage goes
  RepoConfig config_;
  std::optional<pipeline::Key> key_;
  std::string key_id_;
};

// Conversions between manifest strings and pipeline enums.
pipeline::FileStats StatsOf(const ManifestFile& f);
void FillFromStats(const pipeline::FileStats& s, ManifestFile* f);

}  // namespace pgk::repo
