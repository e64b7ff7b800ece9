// A backup repository on any storage: its config (pgkeeper.repo.json), its backups (a
// manifest each, written last) and the keys that open them. The one place that knows the
// repository layout (docs/repository-format.md); commands go through it.
//
// Encryption: a repository is created encrypted when a key is given (the environment's
// PGKEEPER_ENCRYPTION_KEY or a key file). The config then holds a "key check": a random
// key wrapped by the repository key, so a wrong key is refused before any data is read.
// Each backup has its own random data key, wrapped by the repository key in its manifest.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "pipeline/key.h"
#include "pipeline/pipeline.h"
#include "repo/manifest.h"
#include "storage/storage.h"

namespace pgk::repo {

struct RepoConfig {
  int format = 1;
  std::string created;     // ISO 8601
  bool encrypted = false;
  std::string key_check;   // WrapKey(repo key, random key) when encrypted
};

struct OpenOptions {
  std::string url;
  std::string key_file;       // optional; PGKEEPER_ENCRYPTION_KEY wins when set
  bool create = false;        // create the config when the repository is new (backup)
  storage::StorageOptions storage;
};

class Repository {
 public:
  // Opens (and with create, initialises) the repository. Errors: NotFound when it does
  // not exist and create is false; Refused when the repository is encrypted and no key is
  // given, or a key is given for an unencrypted one; Malformed "wrong encryption key" when
  // the key does not open the key check.
  static Result<std::unique_ptr<Repository>> Open(const OpenOptions& options);

  storage::Storage& storage() { return *storage_; }
  const RepoConfig& config() const { return config_; }
  std::string Url() const { return storage_->Url(); }
  const pipeline::Key* repo_key() const { return key_ ? &*key_ : nullptr; }

  // Complete backups (those with a manifest), oldest first. Damaged manifests are
  // reported through `problems` and left out.
  Result<std::vector<Manifest>> ListBackups(std::vector<std::string>* problems = nullptr);
  // "latest" (optionally of a type / tag) or an id.
  Result<Manifest> LoadBackup(const std::string& id_or_latest, const std::string& type = "");
  // Backup directories without a manifest: unfinished (killed, failed) backups.
  Result<std::vector<std::string>> ListUnfinished();

  // The data key of a backup (unwrapped), or nullopt for unencrypted backups.
  Result<std::optional<pipeline::Key>> DataKey(const Manifest& m);
  // A reader of one file of a backup through the verifying read pipeline.
  Result<std::unique_ptr<storage::Reader>> OpenFile(const Manifest& m, const ManifestFile& f,
                                                    const pipeline::Key* data_key);
  // Writes the manifest (atomically, last).
  Status WriteManifest(const Manifest& m);
  Status RemoveBackup(const std::string& id);

 private:
  Repository() = default;
  std::unique_ptr<storage::Storage> storage_;
  RepoConfig config_;
  std::optional<pipeline::Key> key_;
};

// Conversions between manifest strings and pipeline enums.
pipeline::FileStats StatsOf(const ManifestFile& f);
void FillFromStats(const pipeline::FileStats& s, ManifestFile* f);

}  // namespace pgk::repo
