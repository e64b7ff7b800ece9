// Point-in-time recovery, the pure part: the recovery target a user asks for, which base
// backup can reach it, and the settings that tell PostgreSQL to get there.
//
// Which backup: the newest physical backup that is consistent before the target, i.e.
// whose WAL up to its stop point replays entirely before recovery would stop:
//   time T: stopped (database clock) at or before T; every commit before the stop LSN
//           happened before that;
//   LSN L:  stop LSN <= L;
//   xid X:  X not below the backup's stop xmin (X was still running or not yet started
//           when the backup stopped, so it commits after its stop LSN);
//   name, immediate, latest: the newest backup (a restore point's position is not known
//           without reading the WAL: pass a backup id if the newest one is too recent).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/manifest.h"

namespace pgk::physical {

struct RecoveryTarget {
  enum class Kind { kLatest, kTime, kXid, kLsn, kName, kImmediate };
  Kind kind = Kind::kLatest;
  std::string value;        // normalised: "2026-01-02 03:04:05.123456+00", "0/3000028", "1234", the name
  int64_t time_us = 0;      // kTime
  uint64_t lsn = 0;         // kLsn
  uint64_t xid = 0;         // kXid (32-bit or epoch-qualified 64-bit)
  bool exclusive = false;   // stop just before the target instead of just after
  std::string timeline;     // "" (PostgreSQL's default, latest), "latest", "current" or a number
  std::string action = "promote";  // promote | pause | shutdown
  std::string Describe() const;    // "time 2026-01-02 03:04:05+00", "the end of the archive", ...
};

struct TargetFlags {
  std::string time, xid, lsn, name;
  bool immediate = false;
  bool exclusive = false;
  std::string timeline;
  std::string action;
};
// At most one target; InvalidArgument naming the flag that is malformed. Times without an
// offset are UTC.
Result<RecoveryTarget> ParseTarget(const TargetFlags& flags);

// "2026-01-02 03:04:05.5+02", "2026-01-02T01:04:05Z", "2026-01-02 01:04:05" -> µs since the epoch.
Result<int64_t> ParseTimestamp(const std::string& text);
std::string FormatTimestampUtc(int64_t us);  // "2026-01-02 01:04:05.500000+00"

// Whether backup `m` (physical) can reach `t` (see the top of this file).
bool CanReach(const repo::Manifest& m, const RecoveryTarget& t);

// The newest physical backup in `backups` (oldest first) that can reach `t`. NotFound with
// the oldest backup's stop point when none can.
Result<repo::Manifest> ChooseBackup(const std::vector<repo::Manifest>& backups, const RecoveryTarget& t);

// "name = 'value'" lines for postgresql.auto.conf (values quoted as the server reads them).
std::vector<std::string> RecoverySettings(const RecoveryTarget& t, const std::string& restore_command);

// The restored postgresql.auto.conf with earlier recovery settings (restore_command and
// recovery_target*, from the backed-up cluster's own history) commented out, and `settings`
// appended under a header naming the backup: the restored server recovers exactly as asked.
std::string RewriteAutoConf(const std::string& existing, const std::vector<std::string>& settings,
                            const std::string& header);

}  // namespace pgk::physical
