#include "physical/backup.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <thread>

#include "backup/file_writer.h"
#include "common/version.h"
#include "physical/copy_files.h"
#include "physical/incremental.h"
#include "physical/pgdata.h"
#include "physical/server.h"
#include "pg/connection.h"
#include "wal/archive.h"
#include "wal/control.h"
#include "wal/segment.h"

namespace pgk::physical {

namespace {

Status CheckServer(const ServerInfo& s) {
  if (s.in_recovery) {
    return Status::Refused("the server is a standby: physical backups are taken from the primary",
                           "connect --db to the primary server");
  }
  if (s.wal_level == "minimal") {
    return Status::Refused("wal_level is minimal: a physical backup cannot be recovered",
                           "run `pgkeeper setup-archiving --apply` and restart the server");
  }
  if (s.archive_mode == "off") {
    return Status::Refused("archive_mode is off: the WAL a physical backup needs would not be archived",
                           "run `pgkeeper setup-archiving --apply` and restart the server");
  }
  return Status::Ok();
}

// The data directory must be the connected server's: the same path on another host (or
// a stale copy) would produce a backup that cannot be recovered.
Result<std::string> ResolvePgdata(const std::string& flag, const ServerInfo& s) {
  std::string dir = !flag.empty() ? flag : s.data_directory;
  if (dir.empty()) {
    return Status::InvalidArgument("the server does not tell this role its data_directory",
                                   "pass --pgdata with the data directory's path");
  }
  auto control = wal::ReadControlFile(dir);
  if (!control.ok()) {
    return Status::InvalidArgument("cannot read " + dir + "/global/pg_control: " + control.status().message(),
                                   "physical backups run on the database host, as root or the data directory's owner; "
                                   "pass --pgdata if the server's data_directory differs here");
  }
  if (std::to_string(control->system_identifier) != s.system_identifier) {
    return Status::Refused(dir + " belongs to cluster " + std::to_string(control->system_identifier) +
                               ", the server at --db is cluster " + s.system_identifier,
                           "run the backup on the server's host, with --pgdata naming its data directory");
  }
  return dir;
}

std::string OwnerName(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return "";
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(st.st_uid, &pw, buf, sizeof buf, &found) != 0 || !found) return std::to_string(st.st_uid);
  return pw.pw_name;
}

// Polls until the repository's WAL archive holds every segment from start to stop.
Status WaitForWal(repo::Repository& repository, const std::string& system_identifier, uint32_t timeline,
                  uint64_t start_lsn, uint64_t stop_lsn, int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    auto archive = wal::Archive::Open(repository);
    if (archive.ok()) {
      if ((*archive)->info().system_identifier != system_identifier) {
        return Status::Refused("the WAL archive in " + repository.Url() + " belongs to cluster " +
                                   (*archive)->info().system_identifier + ", not to " + system_identifier,
                               "use one repository per cluster");
      }
      auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
      return wal::WaitForArchived(**archive, timeline, start_lsn, stop_lsn, std::max<int>(1, static_cast<int>(left.count())));
    }
    if (archive.status().code() != Code::kNotFound) return archive.status();
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Timeout("no WAL was archived into " + repository.Url() + " within " + std::to_string(timeout_s) +
                                 " s, so the backup cannot be recovered",
                             "set archive_command to pgkeeper wal-push with this repository (`pgkeeper setup-archiving`)"
                             " and check `pgkeeper wal status`");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Result<repo::ManifestFile> StoreText(repo::Repository& repository, const backup::FileSpec& base, const std::string& path,
                                     const std::string& text, int64_t mtime_ns) {
  backup::FileSpec spec = base;
  spec.name = StoredName(path);
  spec.kind = "pgdata";
  repo::ManifestFile entry;
  PGK_RETURN_IF_ERROR(
      backup::WriteBackupFile(repository, spec, [&](pipeline::Sink& sink) { return sink.Write(text); }, &entry));
  entry.mode = 0600;
  entry.mtime_ns = mtime_ns;
  return entry;
}

}  // namespace

Result<PhysicalBackupResult> RunPhysicalBackup(repo::Repository& repository, const PhysicalBackupOptions& o,
                                               const std::function<void(const std::string&)>& progress) {
  if (o.mode != "full" && o.mode != "diff" && o.mode != "incr") {
    return Status::InvalidArgument("--mode must be full, diff or incr");
  }
  auto started = std::chrono::steady_clock::now();
  PGK_ASSIGN_OR_RETURN(pg::Connection conn, pg::Connection::Connect(o.conninfo, {.application_name = "pgkeeper-backup"}));
  PGK_ASSIGN_OR_RETURN(ServerInfo server, ReadServerInfo(conn));
  PGK_RETURN_IF_ERROR(CheckServer(server));
  PGK_ASSIGN_OR_RETURN(std::string pgdata, ResolvePgdata(o.pgdata, server));

  PGK_ASSIGN_OR_RETURN(auto existing, repository.ListBackups());
  ReferenceChoice ref = ChooseReference(existing, o.mode, server.system_identifier, server.version_num);
  PhysicalBackupResult result;
  result.note = ref.note;

  repo::Manifest m;
  m.type = "physical";
  int64_t id_time = std::time(nullptr);
  m.id = repo::BackupId(id_time, ref.mode);
  for (int n = 2;; ++n) {
    PGK_ASSIGN_OR_RETURN(bool taken, repository.storage().Exists(repo::ManifestPath(m.id)));
    if (!taken) break;
    m.id = repo::BackupId(id_time, ref.mode) + std::to_string(n);
  }
  m.server_version = server.version;
  m.tag = o.tag;
  m.pgkeeper_version = kVersion;
  m.compression = std::string(pipeline::CompressionName(o.compression));
  m.compression_level = o.compression_level;
  // A diff/incr shares its reference's data key: its manifest refers to files encrypted
  // with it (and `repo rekey` rewraps every manifest's copy alike).
  std::optional<pipeline::Key> data_key;
  if (const pipeline::Key* rk = repository.repo_key()) {
    if (ref.prior && !ref.prior->wrapped_data_key.empty()) {
      PGK_ASSIGN_OR_RETURN(data_key, repository.DataKey(*ref.prior));
    } else {
      data_key = pipeline::RandomKey();
    }
    m.wrapped_data_key = pipeline::WrapKey(*rk, *data_key);
    m.cipher = "aes-256-gcm";
  }
  repo::PhysicalInfo info;
  info.mode = ref.mode;
  info.reference = ref.prior ? ref.prior->id : "";
  info.system_identifier = server.system_identifier;
  info.pg_version_num = server.version_num;
  info.data_checksums = server.data_checksums;
  info.block_size = server.block_size;
  info.segment_blocks = server.segment_blocks;
  info.wal_segment_size = server.wal_segment_size;
  info.pgdata = pgdata;
  info.owner = OwnerName(pgdata);
  info.superuser = server.superuser;

  auto cleanup_on_error = [&](const Status& s) -> Status {
    // Best effort: without a manifest the directory is debris that expire removes.
    (void)repository.storage().RemovePrefix(repo::BackupDir(m.id));
    return s;
  };

  PGK_ASSIGN_OR_RETURN(BackupStart start, StartBackup(conn, server.version_num, "pgkeeper " + m.id, o.fast_checkpoint));
  progress("backup started at " + wal::FormatLsn(start.lsn));
  info.start_us = start.time_us;
  m.start_time = repo::Iso8601(start.time_us / 1000000);

  // Listed after the checkpoint: files created later are replayed from the WAL anyway.
  auto entries = ScanPgdata(pgdata);
  if (!entries.ok()) return cleanup_on_error(entries.status());
  std::vector<const PgdataEntry*> files;
  const PgdataEntry* control = nullptr;
  for (const auto& e : *entries) {
    if (e.type != PgdataEntry::Type::kFile) {
      info.paths.push_back({.path = e.path, .link = e.type == PgdataEntry::Type::kLink, .target = e.link_target, .mode = e.mode});
    } else if (e.path == "global/pg_control") {
      control = &e;
    } else {
      files.push_back(&e);
    }
  }
  if (!control) return cleanup_on_error(Status::IO(pgdata + "/global/pg_control disappeared during the backup"));

  backup::FileSpec base{.backup_id = m.id, .compression = o.compression, .compression_level = o.compression_level,
                        .data_key = data_key ? &*data_key : nullptr};
  CopyPlan plan{.repository = &repository, .base = base, .pgdata = pgdata,
                .check = {.enabled = server.data_checksums, .block_size = server.block_size,
                          .segment_blocks = server.segment_blocks, .backup_start_lsn = start.lsn},
                .prior = ref.prior ? &*ref.prior : nullptr, .prior_start_us = ref.prior ? ref.prior->physical->start_us : 0,
                .jobs = o.jobs, .compression_threads = o.compression == pipeline::Compression::kZstd ? o.jobs : 0,
                .progress = progress};
  CopyTotals totals;
  auto copied = CopyFiles(plan, files, &totals);
  if (!copied.ok()) return cleanup_on_error(copied.status());
  m.files = std::move(copied).value();
  // pg_control last, as pg_basebackup does: its checkpoint must not be newer than the data.
  plan.prior = nullptr;
  plan.jobs = 1;
  auto control_entry = CopyFiles(plan, {control}, &totals);
  if (!control_entry.ok()) return cleanup_on_error(control_entry.status());
  for (auto& f : *control_entry) m.files.push_back(std::move(f));

  auto stop = StopBackup(conn, server.version_num);
  if (!stop.ok()) return cleanup_on_error(stop.status());
  progress("backup stopped at " + wal::FormatLsn(stop->lsn));
  auto label = ParseBackupLabel(stop->backup_label);
  if (!label.ok()) return cleanup_on_error(label.status());
  int64_t stop_ns = stop->time_us * 1000;
  auto label_entry = StoreText(repository, base, "backup_label", stop->backup_label, stop_ns);
  if (!label_entry.ok()) return cleanup_on_error(label_entry.status());
  m.files.push_back(std::move(label_entry).value());
  if (!stop->tablespace_map.empty()) {
    auto map_entry = StoreText(repository, base, "tablespace_map", stop->tablespace_map, stop_ns);
    if (!map_entry.ok()) return cleanup_on_error(map_entry.status());
    m.files.push_back(std::move(map_entry).value());
  }
  info.timeline = label->timeline;
  info.start_lsn = wal::FormatLsn(label->start_lsn);
  info.checkpoint_lsn = wal::FormatLsn(label->checkpoint_lsn);
  info.stop_lsn = wal::FormatLsn(stop->lsn);
  info.start_wal = wal::SegmentFileName(label->timeline, wal::SegmentOf(label->start_lsn, server.wal_segment_size),
                                        server.wal_segment_size);
  info.stop_wal = wal::SegmentFileName(label->timeline, wal::SegmentBefore(stop->lsn, server.wal_segment_size),
                                       server.wal_segment_size);
  info.stop_us = stop->time_us;
  info.stop_xmin = stop->xmin;
  m.stop_time = repo::Iso8601((stop->time_us + 999999) / 1000000);

  progress("waiting for WAL " + info.start_wal + " .. " + info.stop_wal + " to be archived");
  Status archived = WaitForWal(repository, server.system_identifier, label->timeline, label->start_lsn, stop->lsn,
                               o.archive_timeout_s);
  if (!archived.ok()) return cleanup_on_error(archived);

  m.physical = std::move(info);
  m.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  Status written = repository.WriteManifest(m);
  if (!written.ok()) return cleanup_on_error(written);
  for (const auto& f : m.files) {
    if (!f.page_errors.empty()) result.page_errors.push_back({f.name.substr(7), f.page_errors});
  }
  result.files_copied = totals.copied;
  result.files_referenced = totals.referenced;
  result.files_vanished = totals.vanished;
  result.bytes_copied = totals.bytes_copied;
  result.bytes_referenced = totals.bytes_referenced;
  result.manifest = std::move(m);
  return result;
}

}  // namespace pgk::physical
