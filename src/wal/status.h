// What `wal status` reports: the server's view (pg_stat_archiver, current WAL position)
// and the archive's (newest stored segment, gaps), combined into the lag an operator
// reads as the recovery point objective.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "pg/connection.h"
#include "wal/archive.h"

namespace pgk::wal {

struct ServerArchiveStatus {
  std::string archive_mode;  // off | on | always
  std::string archive_command;
  std::string wal_level;
  int archive_timeout_s = 0;
  uint64_t segment_size = kDefaultSegmentSize;
  bool in_recovery = false;
  uint32_t timeline = 0;
  uint64_t current_lsn = 0;  // pg_current_wal_insert_lsn(), or the replay position on a standby
  std::string current_wal;   // the segment being written
  int64_t archived_count = 0;
  std::string last_archived_wal;
  std::optional<double> last_archived_age_s;  // seconds since last_archived_time
  std::string last_archived_time;             // ISO 8601, "" when never
  int64_t failed_count = 0;
  std::string last_failed_wal;
  std::string last_failed_time;
  bool failing = false;                // the last attempt failed (last_failed_time > last_archived_time)
  std::optional<int64_t> ready_files;  // .ready files waiting (needs pg_monitor or superuser)
  // WAL written but not archived: from the end of the last archived segment to the current
  // position. nullopt when nothing was archived yet.
  std::optional<uint64_t> lag_bytes;
  std::optional<double> lag_seconds;  // 0 when nothing waits, else the age of the last archive
};

Result<ServerArchiveStatus> QueryArchiveStatus(pg::Connection& conn);

// A `wal-receive` seen from the server: its physical slot and, while it is connected,
// its pg_stat_replication row.
struct ReceiverStatus {
  std::string slot;
  bool active = false;
  std::string wal_status;                   // reserved, extended, unreserved, lost
  std::optional<uint64_t> restart_lsn;      // what the server keeps WAL from
  std::optional<uint64_t> retained_bytes;   // current position - restart_lsn
  std::string application_name;             // while active
  std::string state;                        // streaming, catchup, ...
  std::string sync_state;                   // async, sync, potential, quorum
  std::optional<uint64_t> flush_lsn;        // what the receiver reported durable
  std::optional<uint64_t> flush_lag_bytes;  // current position - flush_lsn: what a crash now could lose
};

// The receiver using physical slot `slot`; nullopt when there is no such slot.
Result<std::optional<ReceiverStatus>> QueryReceiverStatus(pg::Connection& conn, const std::string& slot);

}  // namespace pgk::wal
