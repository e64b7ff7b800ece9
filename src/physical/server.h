// The server side of a physical backup: what the backup needs to know about the cluster,
// and the non-exclusive pg_backup_start / pg_backup_stop pair (pg_start_backup /
// pg_stop_backup before PostgreSQL 15). The backup is tied to the session that started
// it: if that connection drops, the server aborts the backup, so a killed pgkeeper never
// leaves the server in backup mode.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "pg/connection.h"

namespace pgk::physical {

struct ServerInfo {
  int version_num = 0;             // server_version_num
  std::string version;             // server_version
  std::string data_directory;      // "" when the role may not read it
  std::string system_identifier;   // decimal
  bool data_checksums = false;
  bool in_recovery = false;
  std::string wal_level;
  std::string archive_mode;
  uint32_t block_size = 8192;
  uint32_t segment_blocks = 131072;
  uint64_t wal_segment_size = 16777216;
  std::string superuser;           // the bootstrap superuser's name (oid 10)
};

Result<ServerInfo> ReadServerInfo(pg::Connection& conn);

// The database clock, in microseconds since the epoch: file times are compared with it.
Result<int64_t> DatabaseClockUs(pg::Connection& conn);

struct BackupStart {
  uint64_t lsn = 0;
  int64_t time_us = 0;  // database clock right after the checkpoint
};
Result<BackupStart> StartBackup(pg::Connection& conn, int version_num, const std::string& label, bool fast);

struct BackupStop {
  uint64_t lsn = 0;
  std::string backup_label;    // the backup_label file's contents
  std::string tablespace_map;  // the tablespace_map file's contents ("" without tablespaces)
  int64_t time_us = 0;
  std::string xmin;            // transactions below it had finished when the backup stopped
};
// Does not wait for archiving (pgkeeper checks its own archive, with a timeout).
Result<BackupStop> StopBackup(pg::Connection& conn, int version_num);

// The database clock and the snapshot's xmin right after a backup stopped (BackupStop's
// time_us and xmin), for a backup stopped by other means (BASE_BACKUP).
struct StopClock {
  int64_t time_us = 0;
  std::string xmin;
};
Result<StopClock> ReadStopClock(pg::Connection& conn, int version_num);

// The fields of a backup_label file the manifest records.
struct BackupLabel {
  uint64_t start_lsn = 0;
  uint64_t checkpoint_lsn = 0;
  uint32_t timeline = 0;
  std::string start_wal;  // "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)"
};
Result<BackupLabel> ParseBackupLabel(const std::string& text);

}  // namespace pgk::physical
