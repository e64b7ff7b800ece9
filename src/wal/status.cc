#include "wal/status.h"

#include <algorithm>

namespace pgk::wal {

Result<ServerArchiveStatus> QueryArchiveStatus(pg::Connection& conn) {
  ServerArchiveStatus s;
  // One round trip. The times are formatted by the server, in UTC, so no client clock or
  // time zone enters the lag.
  PGK_ASSIGN_OR_RETURN(auto r, conn.Query(R"SQL(
    SELECT current_setting('archive_mode'), current_setting('archive_command'), current_setting('wal_level'),
           extract(epoch FROM current_setting('archive_timeout')::interval)::int,
           pg_size_bytes(current_setting('wal_segment_size')),
           pg_is_in_recovery(),
           CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text ELSE pg_current_wal_insert_lsn()::text END,
           CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_insert_lsn()) END,
           (SELECT timeline_id FROM pg_control_checkpoint()),
           a.archived_count, a.last_archived_wal,
           to_char(a.last_archived_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           extract(epoch FROM now() - a.last_archived_time)::float8,
           a.failed_count, a.last_failed_wal,
           to_char(a.last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           coalesce(a.last_failed_time > a.last_archived_time OR
                    (a.last_failed_time IS NOT NULL AND a.last_archived_time IS NULL), false)
      FROM pg_stat_archiver a)SQL"));
  if (r.rows() != 1) return Status::Query("pg_stat_archiver returned no row");
  s.archive_mode = r.GetString(0, 0);
  s.archive_command = r.GetString(0, 1);
  s.wal_level = r.GetString(0, 2);
  s.archive_timeout_s = static_cast<int>(r.GetInt(0, 3));
  s.segment_size = static_cast<uint64_t>(r.GetInt(0, 4));
  s.in_recovery = r.GetBool(0, 5);
  if (auto lsn = ParseLsn(r.Get(0, 6)); lsn.ok()) s.current_lsn = *lsn;
  s.current_wal = r.GetOpt(0, 7).value_or("");
  s.timeline = static_cast<uint32_t>(r.GetInt(0, 8));
  s.archived_count = r.GetInt(0, 9);
  s.last_archived_wal = r.GetOpt(0, 10).value_or("");
  s.last_archived_time = r.GetOpt(0, 11).value_or("");
  if (!r.IsNull(0, 12)) s.last_archived_age_s = r.GetDouble(0, 12);
  s.failed_count = r.GetInt(0, 13);
  s.last_failed_wal = r.GetOpt(0, 14).value_or("");
  s.last_failed_time = r.GetOpt(0, 15).value_or("");
  s.failing = r.GetBool(0, 16);

  // Needs pg_monitor (or superuser); without it the backlog is simply not reported.
  auto ready = conn.Query("SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'");
  if (ready.ok()) s.ready_files = ready->GetInt(0, 0);

  // The last archived file may be a .partial, .backup or .history file. A backup history
  // file is named after the backup's start segment and is archived before the segments
  // that follow it, so only the WAL before that segment is known to be archived; history
  // files cover no WAL.
  auto last = ParseWalFileName(s.last_archived_wal, s.segment_size);
  if (last.ok() && last->kind != WalFileKind::kTimelineHistory && !s.in_recovery) {
    uint64_t done = last->kind == WalFileKind::kBackupHistory ? last->segno : last->segno + 1;
    uint64_t archived_end = SegmentStartLsn(done, s.segment_size);
    s.lag_bytes = s.current_lsn > archived_end ? s.current_lsn - archived_end : 0;
    s.lag_seconds = *s.lag_bytes == 0 ? 0.0 : s.last_archived_age_s.value_or(0);
  }
  return s;
}

Result<std::optional<ReceiverStatus>> QueryReceiverStatus(pg::Connection& conn, const std::string& slot) {
  PGK_ASSIGN_OR_RETURN(auto r, conn.Query(R"SQL(
    WITH cur AS (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS lsn)
    SELECT s.active, coalesce(s.wal_status, ''), s.restart_lsn::text,
           pg_wal_lsn_diff(cur.lsn, s.restart_lsn)::bigint,
           coalesce(r.application_name, ''), coalesce(r.state, ''), coalesce(r.sync_state, ''), r.flush_lsn::text,
           pg_wal_lsn_diff(cur.lsn, r.flush_lsn)::bigint
      FROM pg_replication_slots s CROSS JOIN cur
      LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
     WHERE s.slot_name = $1 AND s.slot_type = 'physical')SQL",
                                          {slot}));
  if (r.rows() == 0) return std::optional<ReceiverStatus>();
  ReceiverStatus st;
  st.slot = slot;
  st.active = r.GetBool(0, 0);
  st.wal_status = r.GetString(0, 1);
  if (!r.IsNull(0, 2)) {
    if (auto lsn = ParseLsn(r.Get(0, 2)); lsn.ok()) st.restart_lsn = *lsn;
  }
  if (!r.IsNull(0, 3)) st.retained_bytes = static_cast<uint64_t>(std::max<int64_t>(0, r.GetInt(0, 3)));
  st.application_name = r.GetString(0, 4);
  st.state = r.GetString(0, 5);
  st.sync_state = r.GetString(0, 6);
  if (!r.IsNull(0, 7)) {
    if (auto lsn = ParseLsn(r.Get(0, 7)); lsn.ok()) st.flush_lsn = *lsn;
  }
  if (!r.IsNull(0, 8)) st.flush_lag_bytes = static_cast<uint64_t>(std::max<int64_t>(0, r.GetInt(0, 8)));
  return std::optional<ReceiverStatus>(st);
}

}  // namespace pgk::wal
