#include "repo/repository.h"

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

namespace pgk::repo {

namespace {

constexpr char kConfigPath[] = "pgkeeper.repo.json";

Result<std::optional<pipeline::Key>> KeyFromOptions(const OpenOptions& o) {
  const char* env = std::getenv(pipeline::kKeyEnvVar);
  if ((env && *env) || !o.key_file.empty()) {
    PGK_ASSIGN_OR_RETURN(pipeline::Key k, pipeline::KeyFromEnvOrFile(o.key_file));
    return std::optional<pipeline::Key>(std::move(k));
  }
  return std::optional<pipeline::Key>();
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
  PGK_ASSIGN_OR_RETURN(r->storage_, storage::OpenStorage(options.url, options.storage));
  PGK_ASSIGN_OR_RETURN(r->key_, KeyFromOptions(options));
  PGK_ASSIGN_OR_RETURN(auto info, r->storage_->Stat(kConfigPath));
  if (!info) {
    if (!options.create) {
      return Status::NotFound("no pgkeeper repository at " + r->storage_->Url(),
                              "take a first backup with `pgkeeper backup --repo " + options.url + "`");
    }
    r->config_.created = Iso8601(std::time(nullptr));
    r->config_.encrypted = r->key_.has_value();
    if (r->key_) r->config_.key_check = pipeline::WrapKey(*r->key_, pipeline::RandomKey());
    nlohmann::json j = {{"format", r->config_.format},
                        {"created", r->config_.created},
                        {"encrypted", r->config_.encrypted},
                        {"key_check", r->config_.key_check}};
    PGK_RETURN_IF_ERROR(r->storage_->Put(kConfigPath, j.dump(2) + "\n"));
    return r;
  }
  PGK_ASSIGN_OR_RETURN(std::string text, r->storage_->Get(kConfigPath));
  try {
    auto j = nlohmann::json::parse(text);
    r->config_.format = j.at("format").get<int>();
    r->config_.created = j.value("created", "");
    r->config_.encrypted = j.at("encrypted").get<bool>();
    r->config_.key_check = j.value("key_check", "");
  } catch (const std::exception& e) {
    return Status::Malformed(r->storage_->Url() + "/" + kConfigPath + " is damaged: " + e.what());
  }
  if (r->config_.format != 1) {
    return Status::Malformed("repository format " + std::to_string(r->config_.format) + " is not supported",
                             "use a newer pgkeeper");
  }
  if (r->config_.encrypted && !r->key_) {
    return Status::Refused("the repository " + r->storage_->Url() + " is encrypted and no key was given",
                           std::string("set ") + pipeline::kKeyEnvVar + " or pass --key-file");
  }
  if (!r->config_.encrypted && r->key_) {
    return Status::Refused("an encryption key was given but the repository " + r->storage_->Url() +
                               " is not encrypted",
                           std::string("unset ") + pipeline::kKeyEnvVar + ", or use a new repository for encrypted backups");
  }
  if (r->key_) {
    auto check = pipeline::UnwrapKey(*r->key_, r->config_.key_check);
    if (!check.ok()) {
      return Status::Malformed("wrong encryption key or corrupted backup: the key does not open " + r->storage_->Url(),
                               std::string("check ") + pipeline::kKeyEnvVar + " or the key file");
    }
  }
  return r;
}

Result<std::vector<Manifest>> Repository::ListBackups(std::vector<std::string>* problems) {
  PGK_ASSIGN_OR_RETURN(auto files, storage_->List("backups/"));
  std::vector<Manifest> out;
  for (const auto& f : files) {
    if (f.path.size() < 14 || f.path.compare(f.path.size() - 14, 14, "/manifest.json") != 0) continue;
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
  std::sort(out.begin(), out.end(), [](const Manifest& a, const Manifest& b) { return a.id < b.id; });
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
  if (!key_) return Status::Refused("backup " + m.id + " is encrypted and no key was given");
  auto k = pipeline::UnwrapKey(*key_, m.wrapped_data_key);
  if (!k.ok()) return k.status().WithContext("backup " + m.id);
  return std::optional<pipeline::Key>(std::move(k).value());
}

Result<std::unique_ptr<storage::Reader>> Repository::OpenFile(const Manifest& m, const ManifestFile& f,
                                                              const pipeline::Key* data_key) {
  std::string path = BackupDir(m.id) + f.name;
  PGK_ASSIGN_OR_RETURN(auto raw, storage_->OpenRead(path));
  pipeline::PipelineOptions po;
  po.name = path;
  po.key = data_key;
  return pipeline::BuildReadPipeline(std::move(raw), po, StatsOf(f));
}

Status Repository::WriteManifest(const Manifest& m) {
  return storage_->Put(ManifestPath(m.id), SerializeManifest(m), {.atomic = true, .sync = true});
}

Status Repository::RemoveBackup(const std::string& id) {
  // Manifest first: from then on the backup no longer exists for readers, whatever
  // happens to the rest of the removal.
  PGK_RETURN_IF_ERROR(storage_->Remove(ManifestPath(id)));
  return storage_->RemovePrefix(BackupDir(id));
}

}  // namespace pgk::repo
