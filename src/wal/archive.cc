// Opening the archive, naming stored files, finding and listing them. Push is in
// archive_push.cc, Fetch and Verify in archive_fetch.cc.
#include "wal/archive.h"

#include <algorithm>
#include <ctime>

#include "repo/manifest.h"

namespace pgk::wal {

namespace {

constexpr char kRoot[] = "wal/";
constexpr char kHistoryDir[] = "wal/history/";
constexpr char kEncSuffix[] = ".enc";

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string CompressionSuffix(pipeline::Compression c) {
  switch (c) {
    case pipeline::Compression::kZstd:
      return ".zst";
    case pipeline::Compression::kLz4:
      return ".lz4";
    case pipeline::Compression::kNone:
      break;
  }
  return "";
}

Status ForeignCluster(const repo::WalArchiveInfo& info, const ClusterIdentity& c, const std::string& url) {
  return Status::Refused("the WAL archive in " + url + " belongs to the cluster with system identifier " +
                             info.system_identifier + ", not to this one (" + std::to_string(c.system_identifier) + ")",
                         "give each cluster its own repository (or prefix); a new cluster (initdb, pg_upgrade) needs a "
                         "new one too");
}

}  // namespace

std::string WalDir(const WalFile& file) {
  if (file.kind == WalFileKind::kTimelineHistory) return kHistoryDir;
  return std::string(kRoot) + file.name.substr(0, 16) + "/";
}

Result<StoredWal> ParseStoredPath(const std::string& path, uint64_t segment_size) {
  auto bad = [&] { return Status::InvalidArgument(path + " is not a stored WAL file"); };
  auto slash = path.rfind('/');
  if (slash == std::string::npos || !path.starts_with(kRoot)) return bad();
  std::string base = path.substr(slash + 1);
  auto dash = base.find('-');
  if (dash == std::string::npos) return bad();
  StoredWal s;
  auto f = ParseWalFileName(base.substr(0, dash), segment_size);
  if (!f.ok()) return bad();
  s.file = std::move(f).value();
  if (path.substr(0, slash + 1) != WalDir(s.file)) return bad();
  std::string rest = base.substr(dash + 1);
  if (rest.size() < 64 || !IsLowerHex(rest.substr(0, 64))) return bad();
  s.sha256 = rest.substr(0, 64);
  rest = rest.substr(64);
  if (rest.ends_with(kEncSuffix)) {
    s.cipher = pipeline::Cipher::kAes256Gcm;
    rest.resize(rest.size() - 4);
  }
  if (rest == ".zst") {
    s.compression = pipeline::Compression::kZstd;
  } else if (rest == ".lz4") {
    s.compression = pipeline::Compression::kLz4;
  } else if (!rest.empty()) {
    return bad();
  }
  s.path = path;
  return s;
}

std::string StoredPath(const WalFile& file, const std::string& sha256, pipeline::Compression c, pipeline::Cipher ci) {
  return WalDir(file) + file.name + "-" + sha256 + CompressionSuffix(c) +
         (ci == pipeline::Cipher::kAes256Gcm ? kEncSuffix : "");
}

Result<std::unique_ptr<Archive>> Archive::Open(repo::Repository& repo) {
  auto text = repo.storage().Get(repo::kWalArchiveInfoPath);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) {
      return Status::NotFound("no WAL archive in " + repo.Url(),
                              "set archive_command to `pgkeeper wal-push %p --repo ...` (`pgkeeper setup-archiving` "
                              "prints the settings)");
    }
    return text.status();
  }
  PGK_ASSIGN_OR_RETURN(auto info, repo::ParseWalArchiveInfo(*text, repo.Url() + "/" + repo::kWalArchiveInfoPath));
  std::optional<pipeline::Key> key;
  if (!info.wrapped_data_key.empty() && repo.repo_key() != nullptr) {
    PGK_ASSIGN_OR_RETURN(
        key, repo.UnwrapDataKey({info.wrapped_data_key, info.key_id, info.rekey_wrapped_data_key, info.rekey_key_id},
                                "the WAL archive in " + repo.Url()));
  } else if (info.wrapped_data_key.empty() && info.cipher != "none") {
    return Status::Malformed(repo.Url() + "/" + repo::kWalArchiveInfoPath +
                             " is damaged: encrypted without a data key");
  }
  return std::unique_ptr<Archive>(new Archive(repo, std::move(info), std::move(key)));
}

Result<std::unique_ptr<Archive>> Archive::OpenForPush(repo::Repository& repo, const ClusterIdentity& cluster,
                                                      const PushOptions& options) {
  auto existing = Open(repo);
  if (existing.ok()) {
    const auto& info = (*existing)->info();
    if (info.system_identifier != std::to_string(cluster.system_identifier)) {
      return ForeignCluster(info, cluster, repo.Url());
    }
    if (cluster.wal_segment_size != 0 && cluster.wal_segment_size != info.wal_segment_size) {
      return Status::Refused("the WAL archive in " + repo.Url() + " holds " +
                             std::to_string(info.wal_segment_size >> 20) + " MB segments, this cluster writes " +
                             std::to_string(cluster.wal_segment_size >> 20) + " MB ones");
    }
    return existing;
  }
  if (existing.status().code() != Code::kNotFound) return existing.status();
  if (!ValidSegmentSize(cluster.wal_segment_size)) {
    return Status::Internal("the WAL segment size is unknown; cannot create the archive");
  }
  // A rekey rewraps the data keys that exist when it passes; one created behind it would
  // stay wrapped by the old key alone, which the rekey then retires.
  if (repo.config().rekey) {
    return Status::Refused("cannot create the WAL archive in " + repo.Url() + " while a key change is unfinished",
                           "finish it with `pgkeeper repo rekey`; PostgreSQL retries the push");
  }
  repo::WalArchiveInfo info;
  info.system_identifier = std::to_string(cluster.system_identifier);
  info.wal_segment_size = cluster.wal_segment_size;
  info.pg_control_version = cluster.pg_control_version;
  info.wal_page_magic = cluster.wal_page_magic;
  info.created = repo::Iso8601(std::time(nullptr));
  info.compression = std::string(pipeline::CompressionName(options.compression));
  if (repo.repo_key() != nullptr) {
    info.cipher = std::string(pipeline::CipherName(pipeline::Cipher::kAes256Gcm));
    info.wrapped_data_key = pipeline::WrapKey(*repo.repo_key(), pipeline::RandomKey());
    info.key_id = repo.key_id();
  }
  PGK_RETURN_IF_ERROR(repo.storage().Put(repo::kWalArchiveInfoPath, repo::SerializeWalArchiveInfo(info)));
  // Read back rather than trust what we wrote: if another pusher created the archive at
  // the same moment, its file won the rename and its data key is the one to use.
  return Open(repo);
}

Result<std::optional<StoredWal>> Archive::Find(const std::string& wal_name) const {
  PGK_ASSIGN_OR_RETURN(WalFile f, ParseWalFileName(wal_name, segment_size()));
  // The '-' keeps "<segment>.partial-..." out of a lookup of "<segment>".
  PGK_ASSIGN_OR_RETURN(auto files, repo_.storage().List(WalDir(f) + wal_name + "-"));
  std::optional<StoredWal> found;
  for (const auto& fi : files) {
    auto s = ParseStoredPath(fi.path, segment_size());
    if (!s.ok() || s->file.name != wal_name) continue;
    s->stored_size = fi.size;
    s->mtime_s = fi.mtime_s;
    if (found && found->sha256 != s->sha256) {
      return Status::Malformed("the archive in " + repo_.Url() + " holds two different copies of " + wal_name + ": " +
                                   found->path + " and " + s->path,
                               "two clusters have archived into one repository; find out which copy belongs to "
                               "this cluster and remove the other");
    }
    // The same contents stored twice (with other layers) are interchangeable.
    if (!found) found = std::move(s).value();
  }
  return found;
}

Result<std::vector<StoredWal>> Archive::List(std::vector<std::string>* problems) const {
  PGK_ASSIGN_OR_RETURN(auto files, repo_.storage().List(kRoot));
  std::vector<StoredWal> out;
  for (const auto& fi : files) {
    if (fi.path == repo::kWalArchiveInfoPath) continue;
    auto s = ParseStoredPath(fi.path, segment_size());
    if (!s.ok()) {
      if (problems) problems->push_back(fi.path + ": not a WAL file pgkeeper stores");
      continue;
    }
    s->stored_size = fi.size;
    s->mtime_s = fi.mtime_s;
    out.push_back(std::move(s).value());
  }
  return out;
}

Status Archive::Remove(const StoredWal& file) const { return repo_.storage().Remove(file.path); }

}  // namespace pgk::wal
