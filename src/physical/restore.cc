#include "physical/restore.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>

#include "common/fs.h"
#include "common/interrupt.h"
#include "common/parallel.h"
#include "physical/restore_fs.h"

namespace pgk::physical {

namespace {

constexpr char kPrefix[] = "pgdata/";
constexpr size_t kPrefixLen = sizeof kPrefix - 1;
constexpr char kControl[] = "global/pg_control";

Status CheckTarget(const std::string& dir, const TargetState& t, const PhysicalRestoreOptions& o) {
  if (t.running_pid != 0) {
    return Status::Refused("a server is running on " + dir + " (pid " + std::to_string(t.running_pid) + ")",
                           "stop it first (pg_ctl stop -D " + dir + ")");
  }
  if (t.empty) return Status::Ok();
  if (!o.delta && !o.force) {
    return Status::Refused(dir + " is not empty",
                           "restore into an empty directory, or pass --delta (keep files that match the backup) or "
                           "--force (overwrite); both remove files the backup does not have");
  }
  if (o.delta && !o.force && !t.looks_like_pgdata) {
    return Status::Refused(dir + " does not look like a data directory (no PG_VERSION): --delta would remove its files",
                           "check the path, or pass --force to overwrite it anyway");
  }
  return Status::Ok();
}

// The data directory's own mode follows the cluster's group access setting (initdb -g).
uint32_t RootMode(const repo::Manifest& m) {
  for (const auto& f : m.files)
    if (f.name == std::string(kPrefix) + "PG_VERSION") return (f.mode & 0040) ? 0750 : 0700;
  return 0700;
}

}  // namespace

Result<PhysicalRestoreReport> RunPhysicalRestore(repo::Repository& repository, const repo::Manifest& m,
                                                 const PhysicalRestoreOptions& o,
                                                 const std::function<void(const std::string&)>& progress) {
  if (m.type != "physical" || !m.physical) {
    return Status::InvalidArgument("backup " + m.id + " is a " + m.type + " backup, not a physical one",
                                   "--pgdata restores physical backups; restore logical ones with --into");
  }
  auto started = std::chrono::steady_clock::now();
  const repo::PhysicalInfo& p = *m.physical;
  std::string pgdata = std::filesystem::absolute(o.pgdata).lexically_normal().string();
  while (pgdata.size() > 1 && pgdata.back() == '/') pgdata.pop_back();
  PGK_ASSIGN_OR_RETURN(TargetState state, InspectTarget(pgdata));
  PGK_RETURN_IF_ERROR(CheckTarget(pgdata, state, o));
  for (const auto& path : p.paths) {
    if (!path.link || path.target.empty() || path.target[0] != '/') continue;
    PGK_ASSIGN_OR_RETURN(TargetState ts, InspectTarget(path.target));
    if (!ts.empty && !o.delta && !o.force) {
      return Status::Refused("tablespace directory " + path.target + " (" + path.path + ") is not empty",
                             "empty it, or pass --delta or --force");
    }
  }
  PGK_ASSIGN_OR_RETURN(auto key, repository.DataKey(m));
  const pipeline::Key* data_key = key ? &*key : nullptr;

  Owner owner = DecideOwner(pgdata, p.owner);
  PhysicalRestoreReport report;
  report.backup_id = m.id;
  report.pgdata = pgdata;
  report.owner = owner.name;

  // New parents must let the server's user through when that is not us.
  if (!state.exists)
    PGK_RETURN_IF_ERROR(fs::MakeDirs(std::filesystem::path(pgdata).parent_path(), owner.change ? 0711 : 0700));
  PGK_RETURN_IF_ERROR(MakeDir(pgdata, RootMode(m), owner));
  // From here on the directory cannot be started until the restore completes.
  if (!state.empty) ::unlink((pgdata + "/" + kControl).c_str());

  std::set<std::string> keep;
  for (const auto& path : p.paths) keep.insert(path.path);
  std::vector<const repo::ManifestFile*> files;
  const repo::ManifestFile* control = nullptr;
  for (const auto& f : m.files) {
    if (f.name.compare(0, kPrefixLen, kPrefix) != 0) continue;
    std::string rel = f.name.substr(kPrefixLen);
    keep.insert(rel);
    if (rel == kControl) {
      control = &f;
    } else {
      files.push_back(&f);
    }
  }
  if (!control) return Status::Malformed("backup " + m.id + " has no global/pg_control", "the backup is damaged");
  if (!state.empty) {
    PGK_ASSIGN_OR_RETURN(report.files_removed, RemoveStrays(pgdata, "", keep));
    for (const auto& path : p.paths) {
      if (!path.link || !std::filesystem::is_directory(path.target)) continue;
      PGK_ASSIGN_OR_RETURN(size_t n, RemoveStrays(path.target, path.path, keep));
      report.files_removed += n;
    }
  }
  for (const auto& path : p.paths) {
    std::string full = pgdata + "/" + path.path;
    if (path.link) {
      if (!path.target.empty() && path.target[0] == '/' && path.path.rfind("pg_tblspc/", 0) == 0) {
        PGK_RETURN_IF_ERROR(fs::MakeDirs(std::filesystem::path(path.target).parent_path(), owner.change ? 0711 : 0700));
        PGK_RETURN_IF_ERROR(MakeDir(path.target, 0700, owner));
      }
      PGK_RETURN_IF_ERROR(MakeLink(full, path.target, owner));
    } else {
      PGK_RETURN_IF_ERROR(MakeDir(full, path.mode != 0 ? path.mode : 0700, owner));
    }
  }

  // Largest first, like the backup: the threads finish together.
  std::stable_sort(files.begin(), files.end(), [](auto* a, auto* b) { return a->original_size > b->original_size; });
  std::atomic<size_t> written{0}, kept{0};
  std::atomic<uint64_t> bytes{0};
  std::mutex unsynced_mu;
  std::vector<std::string> unsynced;  // written, writeback started, not yet waited for
  auto restore_one = [&](const repo::ManifestFile& f) -> Status {
    std::string dest = pgdata + "/" + f.name.substr(kPrefixLen);
    if (o.delta && !o.force) {
      struct stat st {};
      if (::lstat(dest.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          static_cast<uint64_t>(st.st_size) == f.original_size) {
        auto digest = HashLocalFile(dest);
        if (digest.ok() && digest->first == f.original_sha256) {
          ++kept;
          return SetAttributes(dest, f.mode, f.mtime_ns, owner);
        }
      }
    }
    PGK_ASSIGN_OR_RETURN(auto reader, repository.OpenFile(m, f, data_key));
    PGK_ASSIGN_OR_RETURN(uint64_t n, WriteFileFrom(*reader, dest, f.mode, f.mtime_ns, owner, Durability::kSyncLater));
    {
      std::lock_guard<std::mutex> lock(unsynced_mu);
      unsynced.push_back(dest);
    }
    ++written;
    bytes += n;
    if (n >= (64u << 20)) progress("restored " + f.name.substr(kPrefixLen));
    return Status::Ok();
  };
  Status restored = ParallelForEach(
      files.size(), o.jobs,
      [&](int, size_t i) {
        return restore_one(*files[i]).WithContext("restoring " + files[i]->name.substr(kPrefixLen));
      },
      [] { return Interrupted(); });
  if (!restored.ok()) {
    return restored.WithHint(
        "the data directory is incomplete and cannot be started; rerun the restore with --delta to finish it");
  }
  if (Interrupted()) return Status::Interrupted("the restore was interrupted");
  Status synced = SyncFiles(unsynced, std::max(2, o.jobs));
  if (!synced.ok()) return synced.WithHint("the data directory is incomplete; rerun the restore with --delta");

  // Recovery settings in the restored postgresql.auto.conf, where ALTER SYSTEM and the
  // server look last (so they win over postgresql.conf).
  std::string auto_conf = pgdata + "/postgresql.auto.conf";
  std::string existing;
  if (std::filesystem::exists(auto_conf)) {
    PGK_ASSIGN_OR_RETURN(existing, fs::ReadFile(auto_conf));
  }
  report.settings = RecoverySettings(o.target, o.restore_command);
  std::string header = "recovery settings written by pgkeeper restore of backup " + m.id + " on " +
                       repo::Iso8601(std::time(nullptr)) + " (target: " + o.target.Describe() + ")";
  PGK_RETURN_IF_ERROR(WriteSmallFile(auto_conf, RewriteAutoConf(existing, report.settings, header), owner));
  PGK_RETURN_IF_ERROR(WriteSmallFile(pgdata + "/recovery.signal", "", owner));

  // Everything durable before pg_control makes the directory startable: the files were
  // synced above, the directories holding their names are synced here.
  PGK_RETURN_IF_ERROR(SyncDirectory(pgdata));
  for (const auto& path : p.paths) PGK_RETURN_IF_ERROR(SyncDirectory(pgdata + "/" + path.path));
  {
    PGK_ASSIGN_OR_RETURN(auto reader, repository.OpenFile(m, *control, data_key));
    std::string tmp = pgdata + "/" + kControl + ".pgkeeper-tmp";
    PGK_ASSIGN_OR_RETURN(uint64_t n, WriteFileFrom(*reader, tmp, control->mode, control->mtime_ns, owner));

    if (::rename(tmp.c_str(), (pgdata + "/" + kControl).c_str()) != 0) {
      return Status::IO("cannot rename " + tmp + " into place: " + std::strerror(errno));
    }
    PGK_RETURN_IF_ERROR(fs::FsyncDir(pgdata + "/global"));
    ++written;
    bytes += n;
  }
  report.files_written = written;
  report.files_kept = kept;
  report.bytes_written = bytes;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace pgk::physical
