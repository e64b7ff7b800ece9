// What serve knows about the database and its repository at one moment: the data behind
// /metrics, /api/status and the status page. Pure data; collect.h fills it (I/O), and
// metrics.h / status_page.h render it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pgk::serve {

struct BackupSummary {
  std::string id, type, tag, database;
  double start = 0, stop = 0;  // UTC seconds
  double duration_s = 0;
  uint64_t stored_bytes = 0;
  // The point this backup restores to: its snapshot (logical: the start) or, physical,
  // the end of its WAL (stop).
  double restore_point() const { return type == "physical" ? stop : start; }
};

struct JobStatus {
  std::string name, command, schedule;
  std::string backup_type, backup_tag;  // backup jobs
  bool running = false;
  std::optional<double> next;  // next fire time
  std::optional<double> last_run, last_success;
  bool last_ok = true;
  std::string last_error, last_backup_id;
  int64_t failures_total = 0;
  int64_t consecutive_failures = 0;
};

struct DrillSummary {
  double time = 0;
  bool passed = false;
  double restore_seconds = 0;
  std::string backup_id;
};

struct StatusSnapshot {
  double collected_at = 0;                        // when the slow parts were last read
  std::string version, host, timezone, database;  // database: the masked target
  // Database (live: /health and /ready refresh these on every probe).
  bool database_up = false;
  std::string database_error;
  // Migrations and schema (cached: check's sections).
  std::optional<uint64_t> migration_version;
  bool migration_dirty = false;
  std::optional<int> schema_differences;  // errors in the diff; nullopt: nothing to compare with
  std::string schema_expected;
  // Repository.
  std::string repository;  // URL, credentials never included
  std::string repository_error;
  std::vector<BackupSummary> backups;  // oldest first
  std::optional<uint64_t> repository_bytes;
  // WAL.
  std::string archive_mode;
  std::optional<double> wal_lag_seconds;
  std::optional<uint64_t> wal_lag_bytes;
  std::optional<double> wal_last_archived;
  // pg_stat_archiver: the last archive_command attempt failed (and on which file), and
  // the failures since the server's statistics were last reset.
  bool wal_failing = false;
  std::string wal_last_failed;
  std::optional<int64_t> wal_failed_count;
  std::optional<DrillSummary> last_drill;
  // Recoverable window: the oldest restorable point -> the newest (last archived WAL when
  // physical backups and an archive make point-in-time recovery possible).
  std::optional<double> window_start, window_end;
  bool pitr = false;
  std::vector<JobStatus> jobs;
  // False while another serve holds the schedule lease (lease.h): this one stands by.
  bool scheduler_active = true;
  std::string scheduler_standby_for;  // "db1, pid 4242, renewed 12 s ago"
  std::optional<double> tls_certificate_expiry;  // HTTPS: when serve's certificate expires
  std::vector<std::string> warnings;

  // Newest backup of each (type, tag), and the one before it.
  const BackupSummary* Latest(const std::string& type, const std::string& tag, int back = 0) const;
  nlohmann::json ToJson() const;
};

// Derives the window and the warnings from the rest (pure, unit-tested).
void ComputeDerived(StatusSnapshot* s, double now);

}  // namespace pgk::serve
