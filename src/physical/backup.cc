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
#include "physical/source.h"
#include "physical/stream_copy.h"
#include "pg/connection.h"
#include "wal/archive.h"
#include "wal/replication.h"
#include "wal/segment.h"

namespace pgk::physical {

namespace {

// A standby is fine (both sources): pg_backup_start/stop and BASE_BACKUP work there, and
// its WAL comes from the archive like a primary's (see WaitForWal).
Status CheckServer(const ServerInfo& s) {
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

// What either source hands to the common end of a backup.
struct Copied {
  std::vector<repo::ManifestFile> files;
  std::vector<repo::PhysicalPath> paths;
  std::string backup_label;
  uint64_t start_lsn = 0, stop_lsn = 0;
  int64_t start_us = 0, stop_us = 0;
  std::string stop_xmin;
};

struct CopyInputs {
  repo::Repository& repository;
  const PhysicalBackupOptions& o;
  const ServerInfo& server;
  const backup::FileSpec& base;
  const ReferenceChoice& ref;
  std::string label;
  const std::function<void(const std::string&)>& progress;
};

// pg_backup_start, the data directory copied in parallel, pg_control last, pg_backup_stop;
// the label and map pg_backup_stop returns are stored as files of the data directory.
Result<Copied> CopyFromPgdata(pg::Connection& conn, const CopyInputs& in, const std::string& pgdata, CopyTotals* totals) {
  Copied c;
  PGK_ASSIGN_OR_RETURN(BackupStart start, StartBackup(conn, in.server.version_num, in.label, in.o.fast_checkpoint));
  in.progress("backup started at " + wal::FormatLsn(start.lsn));
  c.start_lsn = start.lsn;
  c.start_us = start.time_us;
  // Listed after the checkpoint: files created later are replayed from the WAL anyway.
  PGK_ASSIGN_OR_RETURN(auto entries, ScanPgdata(pgdata));
  std::vector<const PgdataEntry*> files;
  const PgdataEntry* control = nullptr;
  for (const auto& e : entries) {
    if (e.type != PgdataEntry::Type::kFile) {
      c.paths.push_back({.path = e.path, .link = e.type == PgdataEntry::Type::kLink, .target = e.link_target, .mode = e.mode});
    } else if (e.path == "global/pg_control") {
      control = &e;
    } else {
      files.push_back(&e);
    }
  }
  if (!control) return Status::IO(pgdata + "/global/pg_control disappeared during the backup");
  const ServerInfo& s = in.server;
  CopyPlan plan{.repository = &in.repository, .base = in.base, .pgdata = pgdata,
                .check = {.enabled = s.data_checksums, .block_size = s.block_size,
                          .segment_blocks = s.segment_blocks, .backup_start_lsn = start.lsn},
                .prior = in.ref.prior ? &*in.ref.prior : nullptr,
                .prior_start_us = in.ref.prior ? in.ref.prior->physical->start_us : 0,
                .jobs = in.o.jobs, .compression_threads = in.o.compression == pipeline::Compression::kZstd ? in.o.jobs : 0,
                .progress = in.progress};
  PGK_ASSIGN_OR_RETURN(c.files, CopyFiles(plan, files, totals));
  // pg_control last, as pg_basebackup does: its checkpoint must not be newer than the data.
  plan.prior = nullptr;
  plan.jobs = 1;
  PGK_ASSIGN_OR_RETURN(auto control_entry, CopyFiles(plan, {control}, totals));
  for (auto& f : control_entry) c.files.push_back(std::move(f));

  PGK_ASSIGN_OR_RETURN(BackupStop stop, StopBackup(conn, s.version_num));
  c.stop_lsn = stop.lsn;
  c.stop_us = stop.time_us;
  c.stop_xmin = stop.xmin;
  c.backup_label = stop.backup_label;
  int64_t stop_ns = stop.time_us * 1000;
  PGK_ASSIGN_OR_RETURN(auto label_entry, StoreText(in.repository, in.base, "backup_label", stop.backup_label, stop_ns));
  c.files.push_back(std::move(label_entry));
  if (!stop.tablespace_map.empty()) {
    PGK_ASSIGN_OR_RETURN(auto map_entry, StoreText(in.repository, in.base, "tablespace_map", stop.tablespace_map, stop_ns));
    c.files.push_back(std::move(map_entry));
  }
  return c;
}

// BASE_BACKUP on a replication connection of the same role (stream_copy.h); the normal
// session reads the database clock.
Result<Copied> CopyOverReplication(pg::Connection& conn, const CopyInputs& in, CopyTotals* totals) {
  PGK_ASSIGN_OR_RETURN(auto replication, wal::ReplicationConnection::Connect(in.o.conninfo, "pgkeeper-backup", 10));
  StreamPlan plan{.repository = &in.repository, .base = in.base, .label = in.label,
                  .fast_checkpoint = in.o.fast_checkpoint, .version_num = in.server.version_num,
                  .prior = in.ref.prior ? &*in.ref.prior : nullptr,
                  .prior_start_us = in.ref.prior ? in.ref.prior->physical->start_us : 0,
                  .compression_threads = in.o.compression == pipeline::Compression::kZstd ? in.o.jobs : 0,
                  .progress = in.progress};
  PGK_ASSIGN_OR_RETURN(StreamedBackup streamed, StreamBackup(replication, conn, plan, totals));
  Copied c;
  c.files = std::move(streamed.files);
  c.paths = std::move(streamed.paths);
  c.backup_label = std::move(streamed.backup_label);
  c.start_lsn = streamed.start_lsn;
  c.start_us = streamed.start_us;
  c.stop_lsn = streamed.stop_lsn;
  c.stop_us = streamed.stop_us;
  c.stop_xmin = std::move(streamed.stop_xmin);
  return c;
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
  PGK_ASSIGN_OR_RETURN(SourceChoice source, ChooseSource(conn, o.source, o.pgdata, server));
  progress("source: " + source.source + " (" + source.why + ")");

  PGK_ASSIGN_OR_RETURN(auto existing, repository.ListBackups());
  ReferenceChoice ref = ChooseReference(existing, o.mode, server.system_identifier, server.version_num);
  PhysicalBackupResult result;
  result.note = ref.note;
  result.source = source.source;
  result.source_reason = source.why;

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
  // Over replication, the server's own path (restore puts tablespaces where they were,
  // and only needs the owner when run as root: see restore_fs.h).
  info.pgdata = source.source == "pgdata" ? source.pgdata : server.data_directory;
  info.owner = source.source == "pgdata" ? OwnerName(source.pgdata) : "";
  info.superuser = server.superuser;
  info.source = source.source;
  info.from_standby = server.in_recovery;

  auto cleanup_on_error = [&](const Status& s) -> Status {
    // Best effort: without a manifest the directory is debris that expire removes.
    (void)repository.storage().RemovePrefix(repo::BackupDir(m.id));
    return s;
  };

  backup::FileSpec base{.backup_id = m.id, .compression = o.compression, .compression_level = o.compression_level,
                        .data_key = data_key ? &*data_key : nullptr};
  CopyInputs inputs{.repository = repository, .o = o, .server = server, .base = base, .ref = ref,
                    .label = "pgkeeper " + m.id, .progress = progress};
  CopyTotals totals;
  auto copied = source.source == "pgdata" ? CopyFromPgdata(conn, inputs, source.pgdata, &totals)
                                          : CopyOverReplication(conn, inputs, &totals);
  if (!copied.ok()) return cleanup_on_error(copied.status());
  progress("backup stopped at " + wal::FormatLsn(copied->stop_lsn));
  m.files = std::move(copied->files);
  info.paths = std::move(copied->paths);
  auto label = ParseBackupLabel(copied->backup_label);
  if (!label.ok()) return cleanup_on_error(label.status());
  info.start_us = copied->start_us;
  m.start_time = repo::Iso8601(copied->start_us / 1000000);
  info.timeline = label->timeline;
  info.start_lsn = wal::FormatLsn(label->start_lsn);
  info.checkpoint_lsn = wal::FormatLsn(label->checkpoint_lsn);
  info.stop_lsn = wal::FormatLsn(copied->stop_lsn);
  info.start_wal = wal::SegmentFileName(label->timeline, wal::SegmentOf(label->start_lsn, server.wal_segment_size),
                                        server.wal_segment_size);
  info.stop_wal = wal::SegmentFileName(label->timeline, wal::SegmentBefore(copied->stop_lsn, server.wal_segment_size),
                                       server.wal_segment_size);
  info.stop_us = copied->stop_us;
  info.stop_xmin = copied->stop_xmin;
  m.stop_time = repo::Iso8601((copied->stop_us + 999999) / 1000000);

  progress("waiting for WAL " + info.start_wal + " .. " + info.stop_wal + " to be archived");
  Status archived = WaitForWal(repository, server.system_identifier, label->timeline, label->start_lsn,
                               copied->stop_lsn, o.archive_timeout_s);
  if (!archived.ok() && archived.code() == Code::kTimeout && server.in_recovery) {
    // A standby archives a segment only once it has replayed all of it, and only with
    // archive_mode = always; else the primary's archiving has to deliver it.
    archived = archived.WithHint(
        "the server is a standby: set archive_mode = always there with pgkeeper wal-push into this repository, or "
        "let the primary archive into it; the stop segment is complete only once the primary switches to the next "
        "one (archive_timeout on the primary, or SELECT pg_switch_wal() there)");
  }
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
