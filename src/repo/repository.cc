#include "repo/repository.h"

#include <ctime>
#include <set>

namespace pgk::repo {

namespace {

std::string KeyHint() {
  return std::string("set ") + pipeline::kKeyEnvVar + " or " + kPassphraseEnvVar + ", or pass --key-file";
}

}  // namespace

pipeline::FileStats StatsOf(const ManifestFile& f) {
  pipeline::FileStats s;
  s.original_size = f.original_size;
  s.original_sha256 = f.original_sha256;
  s.stored_size = f.stored_size;
  s.stored_sha256 = f.stored_sha256;
  auto c = pipeline::ParseCompression(f.compression);
  s.compression = c.ok() ? *c : pipeline::Compression::kNone;
  auto ci = pipeline::ParseCipher(f.cipher);
  s.cipher = ci.ok() ? *ci : pipeline::Cipher::kNone;
  return s;
}

void FillFromStats(const pipeline::FileStats& s, ManifestFile* f) {
  f->original_size = s.original_size;
  f->original_sha256 = s.original_sha256;
  f->stored_size = s.stored_size;
  f->stored_sha256 = s.stored_sha256;
  f->compression = std::string(pipeline::CompressionName(s.compression));
  f->cipher = std::string(pipeline::CipherName(s.cipher));
}

Result<std::unique_ptr<Repository>> Repository::Open(const OpenOptions& options) {
  std::unique_ptr<Repository> r(new Repository);
  if (options.open_storage) {
    PGK_ASSIGN_OR_RETURN(r->storage_, options.open_storage());
  } else {
    PGK_ASSIGN_OR_RETURN(r->storage_, storage::OpenStorage(options.url, options.storage));
  }
  KeySource source;
  if (options.key) {
    source = *options.key;
  } else {
    PGK_ASSIGN_OR_RETURN(source, KeySource::Current(options.key_file));
  }
  PGK_ASSIGN_OR_RETURN(auto info, r->storage_->Stat(kConfigPath));
  if (!info && !options.create) {
    return Status::NotFound("no pgkeeper repository at " + r->storage_->Url(),
                            "take a first backup with `pgkeeper backup --repo " + options.url + "`");
  }
  // The lock comes before the config is read: a rekey that starts later sees this lock and
  // backs off, and one that started earlier has already written its state into the config.
  if (options.lock != LockMode::kNone) {
    std::string purpose = options.lock_purpose.empty() ? "pgkeeper" : options.lock_purpose;
    PGK_ASSIGN_OR_RETURN(r->lock_, RepoLock::Acquire(*r->storage_, options.lock, purpose));
  }
  if (!info) {
    r->config_.created = Iso8601(std::time(nullptr));
    r->config_.encrypted = source.given();
    if (source.given()) {
      PGK_ASSIGN_OR_RETURN(auto entry, source.NewEntry());
      r->config_.key = std::move(entry.first);
      r->key_ = std::move(entry.second);
      r->key_id_ = r->config_.key.id;
    }
    PGK_RETURN_IF_ERROR(r->storage_->Put(kConfigPath, SerializeRepoConfig(r->config_)));
    return r;
  }
  PGK_ASSIGN_OR_RETURN(std::string text, r->storage_->Get(kConfigPath));
  PGK_ASSIGN_OR_RETURN(r->config_, ParseRepoConfig(text, r->storage_->Url() + "/" + kConfigPath));
  if (!r->config_.encrypted && source.given()) {
    return Status::Refused("an encryption key was given but the repository " + r->storage_->Url() +
                               " is not encrypted",
                           std::string("unset ") + pipeline::kKeyEnvVar + " and " + kPassphraseEnvVar +
                               ", or use a new repository for encrypted backups");
  }
  if (r->config_.encrypted && !source.given() && !options.metadata_only) {
    return Status::Refused("the repository " + r->storage_->Url() + " is encrypted and no key was given",
                           KeyHint() + " (listing backups needs no key)");
  }
  if (r->config_.encrypted && source.given()) {
    Status refused, failed;
    for (const KeyEntry* entry : r->config_.AcceptedKeys()) {
      auto kek = Unlock(source, *entry);
      if (kek.ok()) {
        r->key_ = std::move(kek).value();
        r->key_id_ = entry->id.empty() ? pipeline::KeyId(*r->key_) : entry->id;
        // Configs written before key ids: the id is derived, never stored by a reader.
        if (r->config_.key.id.empty() && entry == &r->config_.key) r->config_.key.id = r->key_id_;
        break;
      }
      (kek.status().code() == Code::kRefused ? refused : failed) = kek.status();
    }
    if (!r->key_) {
      // A key of the right kind that does not open is the likelier mistake to report.
      if (failed.ok()) return refused.WithContext(r->storage_->Url());
      return Status::Malformed(std::string(pipeline::kDecryptionFailed) + ": the key from " + source.origin() +
                                   " does not open " + r->storage_->Url(),
                               std::string("check ") + source.origin() + " (`pgkeeper repo info` shows the key id " +
                                   "the repository expects)");
    }
  }
  if (r->config_.rekey && options.lock == LockMode::kShared) {
    return Status::Refused(
        (options.lock_purpose.empty() ? std::string("this command") : options.lock_purpose) +
            " cannot start: a key change (repo rekey) of " + r->storage_->Url() + " is unfinished",
        "finish it by running `pgkeeper repo rekey` again with the old and the new key (`pgkeeper repo info` "
        "shows its state)");
  }
  return r;
}

Status Repository::WriteConfig(const RepoConfig& config) {
  PGK_RETURN_IF_ERROR(
      storage_->Put(kConfigPath, SerializeRepoConfig(config), {.atomic = true, .sync = true}));
  config_ = config;
  return Status::Ok();
}

Result<std::vector<Manifest>> Repository::ListBackups(std::vector<std::string>* problems) {
  PGK_ASSIGN_OR_RETURN(auto files, storage_->List("backups/"));
  std::vector<Manifest> out;
  for (const auto& f : files) {
    if (!IsManifestPath(f.path)) continue;
    auto text = storage_->Get(f.path);
    if (!text.ok()) {
      if (problems) problems->push_back(f.path + ": " + text.status().message());
      continue;
    }
    auto m = ParseManifest(*text, f.path);
    if (!m.ok()) {
      if (problems) problems->push_back(m.status().message());
      continue;
    }
    out.push_back(std::move(m).value());
  }
  // Oldest first by when each backup started.
  std::stable_sort(out.begin(), out.end(), [&](const Manifest& a, const Manifest& b) {
    int64_t ta = StartMicros(a), tb = StartMicros(b);
    return ta != tb ? ta < tb : a.id < b.id;
  });
  return out;
}

Result<Manifest> Repository::LoadBackup(const std::string& id, const std::string& type) {
  if (id.empty() || id == "latest") {
    PGK_ASSIGN_OR_RETURN(auto all, ListBackups());
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (type.empty() || it->type == type) return *it;
    }
    return Status::NotFound("no " + (type.empty() ? std::string() : type + " ") + "backup in " + Url(),
                            "take one with `pgkeeper backup`");
  }
  auto text = storage_->Get(ManifestPath(id));
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) {
      return Status::NotFound("no backup " + id + " in " + Url(), "`pgkeeper backups list` shows the backups");
    }
    return text.status();
  }
  return ParseManifest(*text, ManifestPath(id));
}

Result<std::vector<std::string>> Repository::ListUnfinished() {
  PGK_ASSIGN_OR_RETURN(auto files, storage_->List("backups/"));
  std::set<std::string> dirs, complete;
  for (const auto& f : files) {
    auto slash = f.path.find('/', 8);
    if (slash == std::string::npos) continue;
    std::string id = f.path.substr(8, slash - 8);
    dirs.insert(id);
    if (f.path == ManifestPath(id)) complete.insert(id);
  }
  std::vector<std::string> out;
  for (const auto& d : dirs)
    if (!complete.count(d)) out.push_back(d);
  return out;
}

Result<std::optional<pipeline::Key>> Repository::DataKey(const Manifest& m) {
  if (m.wrapped_data_key.empty()) return std::optional<pipeline::Key>();
  PGK_ASSIGN_OR_RETURN(
      auto k, UnwrapDataKey({m.wrapped_data_key, m.key_id, m.rekey_wrapped_data_key, m.rekey_key_id}, "backup " + m.id));
  return std::optional<pipeline::Key>(std::move(k));
}

Result<pipeline::Key> Repository::UnwrapDataKey(const WrappedDataKey& w, const std::string& what) const {
  if (!key_) return Status::Refused(what + " is encrypted and no key was given", KeyHint());
  bool tried = false;
  for (const auto& [wrapped, id] : {std::pair{&w.wrapped, &w.key_id}, std::pair{&w.rekey_wrapped, &w.rekey_key_id}}) {
    if (wrapped->empty() || (!id->empty() && *id != key_id_)) continue;
    tried = true;
    auto k = pipeline::UnwrapKey(*key_, *wrapped);
    if (k.ok()) return k;
  }
  if (tried) return pipeline::DecryptionFailed(what);
  std::string ids = w.key_id + (w.rekey_key_id.empty() ? "" : " and " + w.rekey_key_id);
  return Status::Malformed(what + " has its data key wrapped by key " + ids + ", not by the given key " + key_id_,
                           config_.rekey ? "a key change (repo rekey) is unfinished: use the other key, or finish "
                                           "it with `pgkeeper repo rekey`"
                                         : "the repository's key was changed (repo rekey): use the current key, id " +
                                               config_.key.id);
}

Result<std::unique_ptr<storage::Reader>> Repository::OpenFile(const Manifest& m, const ManifestFile& f,
                                                              const pipeline::Key* data_key) {
  // A physical backup's unchanged files live in the backup that first stored them.
  std::string path = BackupDir(f.reference.empty() ? m.id : f.reference) + f.name;
  PGK_ASSIGN_OR_RETURN(auto raw, storage_->OpenRead(path));
  pipeline::PipelineOptions po;
  po.name = path;
  po.key = data_key;
  return pipeline::BuildReadPipeline(std::move(raw), po, StatsOf(f));
}

Status Repository::WriteManifest(const Manifest& m) {
  if (config_.encrypted && m.wrapped_data_key.empty()) {
    return Status::Internal("refusing to write backup " + m.id + " unencrypted into the encrypted repository " + Url());
  }
  Manifest stamped = m;
  if (!stamped.wrapped_data_key.empty() && stamped.key_id.empty()) stamped.key_id = key_id_;
  return storage_->Put(ManifestPath(m.id), SerializeManifest(stamped), {.atomic = true, .sync = true});
}

Status Repository::RemoveBackup(const std::string& id) {
  // Manifest first: from then on the backup no longer exists for readers, whatever
  // happens to the rest of the removal.
  PGK_RETURN_IF_ERROR(storage_->Remove(ManifestPath(id)));
  return storage_->RemovePrefix(BackupDir(id));
}

}  // namespace pgk::repo
