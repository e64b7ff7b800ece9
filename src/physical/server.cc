#include "physical/server.h"

#include <cstdlib>
#include <sstream>

#include "wal/segment.h"

namespace pgk::physical {

namespace {

constexpr char kClockSql[] = "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

}  // namespace

Result<ServerInfo> ReadServerInfo(pg::Connection& conn) {
  ServerInfo s;
  PGK_ASSIGN_OR_RETURN(
      auto r, conn.Query("SELECT current_setting('server_version_num')::int, current_setting('server_version'), "
                         "current_setting('data_checksums') = 'on', pg_is_in_recovery(), current_setting('wal_level'), "
                         "current_setting('archive_mode'), current_setting('block_size')::int, "
                         "pg_size_bytes(current_setting('segment_size')) / current_setting('block_size')::int, "
                         "pg_size_bytes(current_setting('wal_segment_size')), "
                         "(SELECT system_identifier::text FROM pg_control_system()), "
                         "(SELECT rolname FROM pg_roles WHERE oid = 10)"));
  s.version_num = static_cast<int>(r.GetInt(0, 0));
  s.version = r.GetString(0, 1);
  s.data_checksums = r.GetBool(0, 2);
  s.in_recovery = r.GetBool(0, 3);
  s.wal_level = r.GetString(0, 4);
  s.archive_mode = r.GetString(0, 5);
  s.block_size = static_cast<uint32_t>(r.GetInt(0, 6));
  s.segment_blocks = static_cast<uint32_t>(r.GetInt(0, 7));
  s.wal_segment_size = static_cast<uint64_t>(r.GetInt(0, 8));
  s.system_identifier = r.GetString(0, 9);
  s.superuser = r.GetString(0, 10);
  // data_directory needs superuser or pg_read_all_settings; its absence is not fatal
  // when --pgdata is given.
  auto dir = conn.QueryValue("SELECT setting FROM pg_settings WHERE name = 'data_directory'");
  if (dir.ok()) s.data_directory = *dir;
  return s;
}

Result<int64_t> DatabaseClockUs(pg::Connection& conn) {
  PGK_ASSIGN_OR_RETURN(std::string v, conn.QueryValue(kClockSql));
  return static_cast<int64_t>(std::strtoll(v.c_str(), nullptr, 10));
}

Result<BackupStart> StartBackup(pg::Connection& conn, int version_num, const std::string& label, bool fast) {
  std::string sql = version_num >= 150000 ? "SELECT pg_backup_start($1, $2)::text"
                                          : "SELECT pg_start_backup($1, $2, false)::text";
  auto lsn = conn.QueryValue(sql, {label, fast ? "true" : "false"});
  if (!lsn.ok()) {
    return lsn.status().WithContext("cannot start the backup").WithHint(
        "the role needs superuser or EXECUTE on pg_backup_start; wal_level must be replica or logical");
  }
  BackupStart b;
  PGK_ASSIGN_OR_RETURN(b.lsn, wal::ParseLsn(*lsn));
  PGK_ASSIGN_OR_RETURN(b.time_us, DatabaseClockUs(conn));
  return b;
}

Result<BackupStop> StopBackup(pg::Connection& conn, int version_num) {
  std::string sql = version_num >= 150000 ? "SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(false)"
                                          : "SELECT lsn::text, labelfile, spcmapfile FROM pg_stop_backup(false, false)";
  auto r = conn.Query(sql);
  if (!r.ok()) return r.status().WithContext("cannot stop the backup");
  BackupStop b;
  PGK_ASSIGN_OR_RETURN(b.lsn, wal::ParseLsn(r->GetString(0, 0)));
  b.backup_label = r->GetString(0, 1);
  b.tablespace_map = r->GetString(0, 2);
  PGK_ASSIGN_OR_RETURN(StopClock clock, ReadStopClock(conn, version_num));
  b.time_us = clock.time_us;
  b.xmin = std::move(clock.xmin);
  return b;
}

Result<StopClock> ReadStopClock(pg::Connection& conn, int version_num) {
  StopClock c;
  PGK_ASSIGN_OR_RETURN(c.time_us, DatabaseClockUs(conn));
  // Also answered by a hot standby: its snapshot is the primary's as replayed.
  std::string xmin_sql = version_num >= 130000 ? "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"
                                               : "SELECT txid_snapshot_xmin(txid_current_snapshot())::text";
  PGK_ASSIGN_OR_RETURN(c.xmin, conn.QueryValue(xmin_sql));
  return c;
}

Result<BackupLabel> ParseBackupLabel(const std::string& text) {
  BackupLabel l;
  std::istringstream in(text);
  std::string line;
  bool start = false, checkpoint = false, timeline = false;
  auto value_after = [](const std::string& s, const std::string& key) { return s.substr(key.size()); };
  while (std::getline(in, line)) {
    if (line.rfind("START WAL LOCATION: ", 0) == 0) {
      std::string v = value_after(line, "START WAL LOCATION: ");
      auto space = v.find(' ');
      PGK_ASSIGN_OR_RETURN(l.start_lsn, wal::ParseLsn(v.substr(0, space)));
      auto file = v.find("(file ");
      if (file != std::string::npos) l.start_wal = v.substr(file + 6, v.find(')', file) - file - 6);
      start = true;
    } else if (line.rfind("CHECKPOINT LOCATION: ", 0) == 0) {
      PGK_ASSIGN_OR_RETURN(l.checkpoint_lsn, wal::ParseLsn(value_after(line, "CHECKPOINT LOCATION: ")));
      checkpoint = true;
    } else if (line.rfind("START TIMELINE: ", 0) == 0) {
      l.timeline = static_cast<uint32_t>(std::strtoul(value_after(line, "START TIMELINE: ").c_str(), nullptr, 10));
      timeline = l.timeline > 0;
    }
  }
  if (!start || !checkpoint || !timeline) {
    return Status::Malformed("the server's backup label lacks START WAL LOCATION, CHECKPOINT LOCATION or START TIMELINE");
  }
  return l;
}

}  // namespace pgk::physical
