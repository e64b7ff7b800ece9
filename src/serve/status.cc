#include "serve/status.h"

#include "serve/run_record.h"

namespace pgk::serve {

const BackupSummary* StatusSnapshot::Latest(const std::string& type, const std::string& tag, int back) const {
  for (auto it = backups.rbegin(); it != backups.rend(); ++it) {
    if (it->type != type || it->tag != tag) continue;
    if (back-- == 0) return &*it;
  }
  return nullptr;
}

namespace {

nlohmann::json Opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
nlohmann::json OptTime(const std::optional<double>& v) {
  return v ? nlohmann::json(IsoTime(*v)) : nlohmann::json(nullptr);
}

}  // namespace

void ComputeDerived(StatusSnapshot* s, double now) {
  s->window_start.reset();
  s->window_end.reset();
  s->pitr = false;
  bool physical = false;
  for (const auto& b : s->backups) {
    if (b.type == "globals") continue;  // no data: restores nothing of the database
    double p = b.restore_point();
    if (!s->window_start || p < *s->window_start) s->window_start = p;
    if (!s->window_end || p > *s->window_end) s->window_end = p;
    physical = physical || b.type == "physical";
  }
  // Past the newest backup, a physical backup plus the archived WAL reaches the last
  // archived segment.
  if (physical && s->wal_last_archived && s->window_end && *s->wal_last_archived > *s->window_end) {
    s->window_end = s->wal_last_archived;
    s->pitr = true;
  }
  std::vector<std::string>& w = s->warnings;
  w.clear();
  if (!s->database_up) w.push_back("database unreachable: " + s->database_error);
  if (!s->repository_error.empty()) w.push_back("repository: " + s->repository_error);
  if (s->repository_error.empty() && !s->window_start) w.push_back("no backup in the repository: nothing to restore");
  if (s->window_end && now - *s->window_end > 26 * 3600) {
    w.push_back("the newest restorable point is " +
                std::to_string(static_cast<int64_t>((now - *s->window_end) / 3600)) + " hours old");
  }
  if (s->migration_dirty) w.push_back("migrations are dirty: a migration failed halfway (pgkeeper migrate status)");
  if (s->schema_differences && *s->schema_differences > 0) {
    w.push_back("schema drift: " + std::to_string(*s->schema_differences) + " difference(s) from " +
                s->schema_expected);
  }
  if (s->archive_mode == "off" && s->database_up)
    w.push_back("WAL archiving is off: point-in-time recovery is not possible");
  if (s->wal_failing && s->database_up) {
    w.push_back("WAL archiving is failing: archive_command failed for " + s->wal_last_failed +
                " (its error is in the server log; pgkeeper wal status)");
  }
  if (s->wal_lag_seconds && *s->wal_lag_seconds > 3600) {
    w.push_back("WAL archiving lags " + std::to_string(static_cast<int64_t>(*s->wal_lag_seconds / 60)) + " minutes");
  }
  if (!s->last_drill) {
    w.push_back("no restore drill recorded: schedule a drill job");
  } else if (!s->last_drill->passed) {
    w.push_back("the last restore drill failed (" + s->last_drill->backup_id + ")");
  }
  for (const auto& j : s->jobs) {
    if (!j.last_ok && j.last_run) w.push_back("job " + j.name + " failed: " + j.last_error);
  }
}

nlohmann::json StatusSnapshot::ToJson() const {
  nlohmann::json backups_json = nlohmann::json::array();
  for (const auto& b : backups) {
    backups_json.push_back({{"id", b.id},
                            {"type", b.type},
                            {"tag", b.tag},
                            {"database", b.database},
                            {"start", IsoTime(b.start)},
                            {"stop", IsoTime(b.stop)},
                            {"duration_seconds", b.duration_s},
                            {"stored_bytes", b.stored_bytes}});
  }
  nlohmann::json jobs_json = nlohmann::json::array();
  for (const auto& j : jobs) {
    jobs_json.push_back({{"name", j.name},
                         {"command", j.command},
                         {"schedule", j.schedule},
                         {"running", j.running},
                         {"next", OptTime(j.next)},
                         {"last_run", OptTime(j.last_run)},
                         {"last_success", OptTime(j.last_success)},
                         {"last_ok", j.last_ok},
                         {"last_error", j.last_error},
                         {"last_backup_id", j.last_backup_id},
                         {"failures_total", j.failures_total},
                         {"consecutive_failures", j.consecutive_failures}});
  }
  nlohmann::json drill = nullptr;
  if (last_drill) {
    drill = {{"time", IsoTime(last_drill->time)},
             {"passed", last_drill->passed},
             {"restore_seconds", last_drill->restore_seconds},
             {"backup", last_drill->backup_id}};
  }
  return {
      {"version", version},
      {"host", host},
      {"timezone", timezone},
      {"collected_at", IsoTime(collected_at)},
      {"database", {{"target", database}, {"up", database_up}, {"error", database_error}}},
      {"migrations",
       {{"version", migration_version ? nlohmann::json(*migration_version) : nlohmann::json(nullptr)},
        {"dirty", migration_dirty}}},
      {"schema",
       {{"differences", schema_differences ? nlohmann::json(*schema_differences) : nlohmann::json(nullptr)},
        {"expected", schema_expected}}},
      {"repository",
       {{"url", repository},
        {"error", repository_error},
        {"stored_bytes", repository_bytes ? nlohmann::json(*repository_bytes) : nlohmann::json(nullptr)}}},
      {"backups", backups_json},
      {"wal",
       {{"archive_mode", archive_mode},
        {"lag_seconds", Opt(wal_lag_seconds)},
        {"lag_bytes", wal_lag_bytes ? nlohmann::json(*wal_lag_bytes) : nlohmann::json(nullptr)},
        {"last_archived", OptTime(wal_last_archived)},
        {"failing", wal_failing},
        {"last_failed", wal_last_failed},
        {"failed_count", wal_failed_count ? nlohmann::json(*wal_failed_count) : nlohmann::json(nullptr)}}},
      {"recoverable_window", {{"start", OptTime(window_start)}, {"end", OptTime(window_end)}, {"point_in_time", pitr}}},
      {"last_drill", drill},
      {"jobs", jobs_json},
      {"scheduler",
       {{"active", scheduler_active},
        {"standby_for", scheduler_active ? nlohmann::json(nullptr) : nlohmann::json(scheduler_standby_for)}}},
      {"warnings", warnings}};
}

}  // namespace pgk::serve
