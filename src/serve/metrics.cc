#include "serve/metrics.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>

namespace pgk::serve {

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

namespace {

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::fabs(v) < 1e15 && v == std::floor(v)) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{:.6f}", v);
}

class Writer {
 public:
  void Family(const std::string& name, const std::string& type, const std::string& help) {
    name_ = name;
    out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void Sample(double v, const std::vector<std::pair<std::string, std::string>>& labels = {}) {
    out_ += name_;
    if (!labels.empty()) {
      out_ += "{";
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i) out_ += ",";
        out_ += labels[i].first + "=\"" + EscapeLabel(labels[i].second) + "\"";
      }
      out_ += "}";
    }
    out_ += " " + Number(v) + "\n";
  }
  template <typename T>
  void Maybe(const std::optional<T>& v) {
    if (v) Sample(static_cast<double>(*v));
  }
  std::string str() const { return out_; }

 private:
  std::string name_;
  std::string out_;
};

}  // namespace

std::string RenderMetrics(const StatusSnapshot& s) {
  Writer w;
  w.Family("pgkeeper_up", "gauge", "1 while pgkeeper serve is running");
  w.Sample(1);
  w.Family("pgkeeper_build_info", "gauge", "pgkeeper's version, as a label");
  w.Sample(1, {{"version", s.version}});
  w.Family("pgkeeper_database_up", "gauge", "1 when the database accepted a connection and SELECT 1");
  w.Sample(s.database_up ? 1 : 0);
  w.Family("pgkeeper_scheduler_active", "gauge",
           "1 when this serve runs the schedule; 0 while it stands by for another serve on the repository");
  w.Sample(s.scheduler_active ? 1 : 0);
  w.Family("pgkeeper_tls_certificate_expiry_timestamp_seconds", "gauge",
           "when the certificate serve presents on HTTPS expires (renew it, then SIGHUP); no sample without HTTPS");
  w.Maybe(s.tls_certificate_expiry);
  w.Family("pgkeeper_status_collected_timestamp_seconds", "gauge",
           "when serve last read the repository, WAL and schema status");
  w.Sample(s.collected_at);

  // Backups by (type, tag): those in the repository and those scheduled jobs make.
  std::set<std::pair<std::string, std::string>> groups;
  std::map<std::string, int> per_type;
  for (const auto& b : s.backups) {
    groups.insert({b.type, b.tag});
    ++per_type[b.type];
  }
  std::map<std::pair<std::string, std::string>, int64_t> failures;
  for (const auto& j : s.jobs) {
    if (j.command != "backup") continue;
    groups.insert({j.backup_type, j.backup_tag});
    failures[{j.backup_type, j.backup_tag}] += j.failures_total;
  }
  auto per_group = [&](const std::string& name, const std::string& type, const std::string& help, int back,
                       double (*value)(const BackupSummary&)) {
    w.Family(name, type, help);
    for (const auto& [t, tag] : groups) {
      if (const BackupSummary* b = s.Latest(t, tag, back)) w.Sample(value(*b), {{"type", t}, {"tag", tag}});
    }
  };
  per_group("pgkeeper_backup_last_success_timestamp_seconds", "gauge",
            "end time of the newest complete backup of this type and tag", 0,
            [](const BackupSummary& b) { return b.stop; });
  per_group("pgkeeper_backup_last_duration_seconds", "gauge", "how long the newest backup of this type and tag took", 0,
            [](const BackupSummary& b) { return b.duration_s; });
  per_group("pgkeeper_backup_last_size_bytes", "gauge", "bytes the newest backup of this type and tag stored", 0,
            [](const BackupSummary& b) { return static_cast<double>(b.stored_bytes); });
  per_group("pgkeeper_backup_previous_size_bytes", "gauge",
            "bytes the backup before the newest one (same type and tag) stored", 1,
            [](const BackupSummary& b) { return static_cast<double>(b.stored_bytes); });
  w.Family("pgkeeper_backup_failures_total", "counter",
           "failed runs of backup jobs of this type and tag (run records)");
  for (const auto& g : groups) {
    auto it = failures.find(g);
    w.Sample(it == failures.end() ? 0 : static_cast<double>(it->second), {{"type", g.first}, {"tag", g.second}});
  }
  w.Family("pgkeeper_backups", "gauge", "complete backups in the repository, by type");
  for (const auto& [t, n] : per_type) w.Sample(n, {{"type", t}});

  w.Family("pgkeeper_job_last_success_timestamp_seconds", "gauge", "end of the job's last successful run");
  for (const auto& j : s.jobs)
    if (j.last_success) w.Sample(*j.last_success, {{"job", j.name}});
  w.Family("pgkeeper_job_last_run_timestamp_seconds", "gauge", "end of the job's last run, successful or not");
  for (const auto& j : s.jobs)
    if (j.last_run) w.Sample(*j.last_run, {{"job", j.name}});
  w.Family("pgkeeper_job_next_run_timestamp_seconds", "gauge", "the job's next scheduled time");
  for (const auto& j : s.jobs)
    if (j.next) w.Sample(*j.next, {{"job", j.name}});
  w.Family("pgkeeper_job_failures_total", "counter", "failed runs of the job (run records)");
  for (const auto& j : s.jobs) w.Sample(static_cast<double>(j.failures_total), {{"job", j.name}});
  w.Family("pgkeeper_job_consecutive_failures", "gauge", "failed runs of the job since its last success");
  for (const auto& j : s.jobs) w.Sample(static_cast<double>(j.consecutive_failures), {{"job", j.name}});
  w.Family("pgkeeper_job_running", "gauge", "1 while the job runs");
  for (const auto& j : s.jobs) w.Sample(j.running ? 1 : 0, {{"job", j.name}});

  w.Family("pgkeeper_wal_archive_lag_seconds", "gauge",
           "age of the last archived WAL while WAL waits to be archived (0: nothing waits)");
  w.Maybe(s.wal_lag_seconds);
  w.Family("pgkeeper_wal_archive_lag_bytes", "gauge", "WAL written but not archived yet");
  w.Maybe(s.wal_lag_bytes);
  w.Family("pgkeeper_wal_last_archived_timestamp_seconds", "gauge", "when the last WAL segment was archived");
  w.Maybe(s.wal_last_archived);
  w.Family("pgkeeper_wal_archive_failing", "gauge", "1 when the server's last archive_command attempt failed");
  if (s.wal_failed_count) w.Sample(s.wal_failing ? 1 : 0);
  w.Family("pgkeeper_wal_archive_failures_total", "counter",
           "failed archive_command attempts (pg_stat_archiver; resets with the server's statistics)");
  if (s.wal_failed_count) w.Sample(static_cast<double>(*s.wal_failed_count));

  w.Family("pgkeeper_drill_last_timestamp_seconds", "gauge", "start of the last recorded restore drill");
  if (s.last_drill) w.Sample(s.last_drill->time);
  w.Family("pgkeeper_drill_last_success", "gauge", "1 when the last restore drill passed");
  if (s.last_drill) w.Sample(s.last_drill->passed ? 1 : 0);
  w.Family("pgkeeper_drill_restore_seconds", "gauge", "restore time of the last drill (the measured RTO)");
  if (s.last_drill) w.Sample(s.last_drill->restore_seconds);

  w.Family("pgkeeper_migration_version", "gauge", "the newest applied migration");
  w.Maybe(s.migration_version);
  w.Family("pgkeeper_migration_dirty", "gauge", "1 when a migration failed halfway");
  w.Sample(s.migration_dirty ? 1 : 0);
  w.Family("pgkeeper_schema_differences", "gauge", "schema errors between the live and the expected schema");
  if (s.schema_differences) w.Sample(*s.schema_differences);

  w.Family("pgkeeper_repository_size_bytes", "gauge", "bytes stored in the repository (backups, WAL, records)");
  w.Maybe(s.repository_bytes);
  w.Family("pgkeeper_recoverable_window_start_timestamp_seconds", "gauge", "the oldest point a restore can reach");
  w.Maybe(s.window_start);
  w.Family("pgkeeper_recoverable_window_end_timestamp_seconds", "gauge",
           "the newest point a restore can reach (the last archived WAL with point-in-time recovery)");
  w.Maybe(s.window_end);
  return w.str();
}

}  // namespace pgk::serve
