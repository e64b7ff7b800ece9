#include "physical/stream_copy.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "common/interrupt.h"
#include "common/log.h"
#include "physical/incremental.h"
#include "physical/pgdata.h"
#include "physical/server.h"
#include "physical/tar_reader.h"
#include "wal/segment.h"

namespace pgk::physical {

namespace {

constexpr uint64_t kBigFile = 64ull << 20;
// backup_label is a few hundred bytes; anything near this is not one.
constexpr size_t kMaxLabel = 1 << 16;

std::string Megabytes(uint64_t bytes) { return std::to_string((bytes + (1 << 19)) >> 20) + " MB"; }

// The archives of one BASE_BACKUP stream, each readable as a TarReader source: a source
// ends where the next archive (or the stream) begins.
class ArchiveStream {
 public:
  explicit ArchiveStream(wal::ReplicationConnection& replication) : replication_(replication) {}

  // The next archive's name and location ("" for the main data directory); false when
  // the stream ended.
  Result<bool> NextArchive(std::string* name, std::string* location) {
    for (;;) {
      if (!have_) {
        PGK_ASSIGN_OR_RETURN(bool more, Pull());
        if (!more) return false;
      }
      have_ = false;
      if (msg_.kind == wal::BaseBackupMessage::Kind::kNewArchive) {
        *name = msg_.archive;
        *location = msg_.location;
        return true;
      }
      // Data before any archive, or a manifest's (none is asked for): not ours to store.
    }
  }

  Result<bool> Read(std::string* chunk) {
    for (;;) {
      if (!have_) {
        PGK_ASSIGN_OR_RETURN(bool more, Pull());
        if (!more) return false;
      }
      switch (msg_.kind) {
        case wal::BaseBackupMessage::Kind::kData:
          chunk->append(msg_.data);
          have_ = false;
          return true;
        case wal::BaseBackupMessage::Kind::kProgress:
          have_ = false;
          continue;
        default:
          return false;  // the next archive, or the manifest: kept for NextArchive
      }
    }
  }

 private:
  Result<bool> Pull() {
    if (ended_) return false;
    PGK_ASSIGN_OR_RETURN(bool more, replication_.NextBaseBackupData(&raw_));
    if (!more) {
      ended_ = true;
      return false;
    }
    PGK_ASSIGN_OR_RETURN(msg_, wal::DecodeBaseBackupMessage(raw_));
    have_ = true;
    return true;
  }

  wal::ReplicationConnection& replication_;
  std::string raw_;
  wal::BaseBackupMessage msg_;  // its data points into raw_
  bool have_ = false;           // msg_ is not consumed yet
  bool ended_ = false;
};

class StreamCopier {
 public:
  StreamCopier(const StreamPlan& plan, CopyTotals* totals, StreamedBackup* out)
      : plan_(plan), totals_(totals), out_(out) {
    if (plan.prior) {
      for (const auto& f : plan.prior->files) prior_files_[f.name] = &f;
    }
  }

  void Tablespace(uint32_t oid, const std::string& location) {
    AddPath({.path = "pg_tblspc/" + std::to_string(oid), .link = true, .target = location, .mode = 0777});
  }

  // One archive: `prefix` is where its members live in the data directory.
  Status Archive(TarReader& reader, const std::string& prefix, bool main) {
    for (;;) {
      if (Interrupted()) return Status::Interrupted("the backup was interrupted");
      PGK_ASSIGN_OR_RETURN(auto entry, reader.Next());
      if (!entry) return Status::Ok();
      const TarEntry& e = *entry;
      // PostgreSQL names some members "./pg_wal/..." (the directories it writes itself).
      std::string_view name = e.name;
      while (name.starts_with("./")) name.remove_prefix(2);
      if (name.empty() || name == ".") continue;
      std::string rel = prefix + std::string(name);
      switch (e.type) {
        case TarEntry::Type::kDirectory:
          AddPath({.path = rel, .link = false, .target = "", .mode = e.mode});
          break;
        case TarEntry::Type::kSymlink:
          AddPath({.path = rel, .link = true, .target = e.link_target, .mode = e.mode});
          break;
        case TarEntry::Type::kFile: {
          // The server's backup_label and tablespace_map are this backup's own; any other
          // file the data directory copy leaves out is left out here too (standby.signal).
          bool own = main && (rel == "backup_label" || rel == "tablespace_map");
          if (!own && ExcludedFile(rel)) break;
          PGK_RETURN_IF_ERROR(File(reader, e, rel, own || rel == "global/pg_control"));
          break;
        }
        case TarEntry::Type::kOther:
          break;  // hard links, devices: PostgreSQL sends none
      }
    }
  }

 private:
  void AddPath(repo::PhysicalPath p) {
    if (seen_paths_.insert(p.path).second) out_->paths.push_back(std::move(p));
  }

  Status File(TarReader& reader, const TarEntry& e, const std::string& rel, bool always_copy) {
    std::string name = StoredName(rel);
    int64_t mtime_ns = e.mtime_s * 1000000000LL;
    const repo::ManifestFile* prior = nullptr;
    if (auto it = prior_files_.find(name); it != prior_files_.end() && !always_copy) prior = it->second;
    Reuse reuse = prior ? DecideReuse(*prior, plan_.prior_start_us - 1000000, e.size, mtime_ns) : Reuse::kCopy;
    if (reuse == Reuse::kReference) {
      Referenced(*prior, e);  // its bytes are skipped by the next reader.Next()
      return Status::Ok();
    }
    backup::FileSpec spec = plan_.base;
    spec.name = name;
    spec.kind = "pgdata";
    if (e.size >= kBigFile && plan_.compression_threads > 0) spec.compression_threads = plan_.compression_threads;
    bool capture = rel == "backup_label";
    repo::ManifestFile entry;
    PGK_RETURN_IF_ERROR(backup::WriteBackupFile(
        *plan_.repository, spec,
        [&](pipeline::Sink& sink) {
          return reader.ReadData([&](std::string_view piece) {
            if (capture && out_->backup_label.size() < kMaxLabel) out_->backup_label.append(piece);
            return sink.Write(piece);
          });
        },
        &entry));
    if (reuse == Reuse::kCompare && entry.original_size == prior->original_size &&
        entry.original_sha256 == prior->original_sha256) {
      // Same content after all: the prior copy serves, this one goes.
      PGK_RETURN_IF_ERROR(plan_.repository->storage().Remove(repo::BackupDir(plan_.base.backup_id) + name));
      Referenced(*prior, e);
      return Status::Ok();
    }
    entry.mode = e.mode;
    entry.mtime_ns = mtime_ns;
    ++totals_->copied;
    totals_->bytes_copied += entry.original_size;
    if (entry.original_size >= (8u << 20))
      plan_.progress("copied " + rel + " (" + Megabytes(entry.original_size) + ")");
    out_->files.push_back(std::move(entry));
    return Status::Ok();
  }

  void Referenced(const repo::ManifestFile& prior, const TarEntry& e) {
    repo::ManifestFile entry = prior;
    entry.reference = StoredIn(*plan_.prior, prior);
    entry.mode = e.mode;
    entry.mtime_ns = e.mtime_s * 1000000000LL;
    ++totals_->referenced;
    totals_->bytes_referenced += entry.original_size;
    out_->files.push_back(std::move(entry));
  }

  const StreamPlan& plan_;
  CopyTotals* totals_;
  StreamedBackup* out_;
  std::map<std::string, const repo::ManifestFile*> prior_files_;
  std::set<std::string> seen_paths_;
};

const wal::BaseBackupTablespace* FindTablespace(const std::vector<wal::BaseBackupTablespace>& list,
                                                const std::string& location) {
  for (const auto& t : list)
    if (t.location == location) return &t;
  return nullptr;
}

}  // namespace

bool ParseChecksumWarning(const std::string& message, const std::vector<wal::BaseBackupTablespace>& tablespaces,
                          std::string* path, uint32_t* block) {
  static const std::regex re(R"re(^checksum verification failed in file "(.+)", block (\d+))re");
  std::smatch m;
  if (!std::regex_search(message, m, re)) return false;
  std::string file = m[1].str();
  *block = static_cast<uint32_t>(std::stoul(m[2].str()));
  if (file.rfind("./", 0) == 0) file = file.substr(2);
  for (const auto& t : tablespaces) {
    if (!t.location.empty() && file.rfind(t.location + "/", 0) == 0) {
      file = "pg_tblspc/" + std::to_string(t.oid) + file.substr(t.location.size());
      break;
    }
  }
  *path = file;
  return true;
}

Result<StreamedBackup> StreamBackup(wal::ReplicationConnection& replication, pg::Connection& conn,
                                    const StreamPlan& plan, CopyTotals* totals) {
  StreamedBackup out;
  std::vector<wal::BaseBackupTablespace> tablespaces;
  std::map<std::string, std::vector<uint32_t>> page_errors;
  replication.OnNotice([&](const pg::Notice& n) {
    std::string path;
    uint32_t block = 0;
    if (ParseChecksumWarning(n.message, tablespaces, &path, &block)) {
      page_errors[path].push_back(block);
    } else if (n.severity == "WARNING") {
      log::Warn("server: {}", n.message);
    } else {
      log::Debug("server {}: {}", n.severity, n.message);
    }
  });
  PGK_RETURN_IF_ERROR(replication.SendBaseBackup(wal::BaseBackupCommand(plan.label, plan.fast_checkpoint)));
  PGK_ASSIGN_OR_RETURN(wal::BaseBackupStart start, replication.ReadBaseBackupStart());
  tablespaces = start.tablespaces;
  out.start_lsn = start.lsn;
  PGK_ASSIGN_OR_RETURN(out.start_us, DatabaseClockUs(conn));
  plan.progress("backup started at " + wal::FormatLsn(start.lsn));

  ArchiveStream stream(replication);
  StreamCopier copier(plan, totals, &out);
  std::string name, location;
  for (;;) {
    PGK_ASSIGN_OR_RETURN(bool more, stream.NextArchive(&name, &location));
    if (!more) break;
    std::string prefix;
    if (!location.empty()) {
      const wal::BaseBackupTablespace* t = FindTablespace(tablespaces, location);
      if (!t)
        return Status::Query("the server sent archive " + name + " for " + location + ", a tablespace it did not list");
      prefix = "pg_tblspc/" + std::to_string(t->oid) + "/";
      copier.Tablespace(t->oid, location);
    }
    TarReader reader([&](std::string* chunk) { return stream.Read(chunk); },
                     "archive " + name + " of the server's base backup");
    PGK_RETURN_IF_ERROR(copier.Archive(reader, prefix, location.empty()));
  }
  PGK_ASSIGN_OR_RETURN(wal::BaseBackupEnd end, replication.ReadBaseBackupEnd());
  // With page errors the server fails the command after sending everything: the copy is
  // complete and faithful, and the errors are reported like the data directory copy's.
  bool checksum_failure = end.error_sqlstate == "XX001" && !page_errors.empty();
  if (!end.error_message.empty() && !checksum_failure) {
    return Status::Query("the server failed the base backup: " + end.error_message, "the server's log has the details");
  }
  if (end.lsn == 0) return Status::Query("the server ended the base backup without its end position");
  if (out.backup_label.empty()) return Status::Query("the server's base backup has no backup_label");
  out.stop_lsn = end.lsn;
  PGK_ASSIGN_OR_RETURN(StopClock clock, ReadStopClock(conn, plan.version_num));
  out.stop_us = clock.time_us;
  out.stop_xmin = clock.xmin;

  for (auto& f : out.files) {
    auto it = page_errors.find(f.name.substr(7));  // "pgdata/"
    if (it != page_errors.end()) f.page_errors = it->second;
  }
  std::sort(out.files.begin(), out.files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::sort(out.paths.begin(), out.paths.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

}  // namespace pgk::physical
