#include "serve/service.h"

#include <chrono>

#include "common/log.h"
#include "serve/webhook.h"

namespace pgk::serve {

Service::Service(ServiceOptions options)
    : o_(std::move(options)), runner_(o_.runner), scheduler_(o_.config.jobs, o_.config.timezone) {
  cached_.version = o_.version;
  cached_.host = o_.host;
  cached_.timezone = o_.config.timezone.name();
  cached_.database = o_.database_display;
}

Service::~Service() {
  stopping_ = true;
  cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  if (lease_thread_.joinable()) lease_thread_.join();
  // Job threads are detached (one per run, for the life of a long-running process):
  // wait until the last one is done with this object.
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return running_ == 0; });
}

Status Service::Init() {
  // The schedule counts from now, not from after the lease is settled (seconds later): a
  // fire time in between still runs.
  auto started = static_cast<int64_t>(o_.clock->Now());
  if (!o_.collect.repo_url.empty()) {
    PGK_ASSIGN_OR_RETURN(records_, storage::OpenStorage(o_.collect.repo_url));
    lease_ = std::make_unique<ScheduleLease>(*records_, o_.host, o_.lease_ttl_s);
    auto held = lease_->TryAcquire();
    if (!held.ok()) {
      // An unreachable repository must not stop the schedule: jobs fail and say why, and
      // the lease is taken or yielded once the repository answers.
      log::Warn("cannot read the schedule lease in {}: {}; running the schedule", records_->Url(),
                held.status().message());
    } else if (!*held) {
      active_ = false;
      std::string holder = lease_->DescribeHolder();
      {
        std::lock_guard<std::mutex> lock(mu_);
        standby_for_ = holder;
      }
      log::Warn("standing by: another serve runs the schedule of {} ({}); this one takes over if that lease is "
                "not renewed for {:.0f} s",
                records_->Url(), holder, o_.lease_ttl_s);
    }
  }
  if (active_) ResumeSchedule(started);
  return Status::Ok();
}

Result<std::map<std::string, RunRecord>> Service::ReadRunRecords(std::vector<std::string>* problems) {
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& j : scheduler_.jobs()) names.push_back(j.name);
  }
  return LatestRunRecords(*records_, names, problems);
}

void Service::ResumeSchedule(int64_t since) {
  std::map<std::string, int64_t> last_scheduled;
  std::map<std::string, RunRecord> latest_records;
  if (records_) {
    std::vector<std::string> problems;
    auto latest = ReadRunRecords(&problems);
    if (!latest.ok()) {
      log::Warn("cannot read run records from {}: {}", records_->Url(), latest.status().message());
    } else {
      latest_records = std::move(latest).value();
    }
    for (const auto& p : problems) log::Warn("run record {}", p);
    for (const auto& [name, r] : latest_records) last_scheduled[name] = r.scheduled;
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, r] : latest_records) last_[name] = std::move(r);
  scheduler_.Start(since, last_scheduled);
  for (size_t i = 0; i < scheduler_.jobs().size(); ++i) {
    const auto& j = scheduler_.jobs()[i];
    auto next = scheduler_.next(i);
    log::Info("job {}: {} on \"{}\" ({}), next {}", j.name, j.command, j.schedule.text(), o_.config.timezone.name(),
              next ? IsoTime(static_cast<double>(*next)) : std::string("never"));
  }
}

// Renews the lease every ttl/4 while this serve holds it; otherwise tries to take it.
// Losing it (another serve took it over after this one failed to renew in time) stops
// new runs; running jobs finish.
void Service::LeaseLoop() {
  using Steady = std::chrono::steady_clock;
  const auto every = std::chrono::duration<double>(lease_->ttl_s() / 4);
  auto renewed = Steady::now();
  while (!stopping_) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, every, [this] { return stopping_.load(); });
    }
    if (stopping_) break;
    double now = o_.clock->Now();
    if (active_) {
      auto r = lease_->Renew();
      if (r.ok() && *r) {
        renewed = Steady::now();
      } else if (r.ok() || std::chrono::duration<double>(Steady::now() - renewed).count() > lease_->ttl_s()) {
        active_ = false;
        std::string holder = lease_->DescribeHolder();
        {
          std::lock_guard<std::mutex> lock(mu_);
          standby_for_ = holder;
        }
        log::Error("lost the schedule lease ({}): standing by, no new runs; running jobs finish",
                   r.ok() ? "now held by " + holder : "not renewed for " + std::to_string(int(lease_->ttl_s())) +
                                                           " s: " + r.status().message());
      } else {
        log::Warn("cannot renew the schedule lease: {} (retrying)", r.status().message());
      }
      continue;
    }
    auto r = lease_->TryAcquire();
    if (r.ok() && *r) {
      log::Info("took over the schedule of {} (from {})", records_->Url(), [&] {
        std::lock_guard<std::mutex> lock(mu_);
        return standby_for_;
      }());
      ResumeSchedule(static_cast<int64_t>(now));
      renewed = Steady::now();
      {
        std::lock_guard<std::mutex> lock(mu_);
        standby_for_.clear();
      }
      active_ = true;
    } else if (r.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      standby_for_ = lease_->DescribeHolder();
    }
  }
}

void Service::Loop() {
  refresher_ = std::thread([this] { RefreshLoop(); });
  if (lease_) lease_thread_ = std::thread([this] { LeaseLoop(); });
  while (!stopping_) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!active_) {  // standing by: the schedule runs elsewhere
        cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping_.load(); });
        continue;
      }
      Decisions d = scheduler_.Tick(static_cast<int64_t>(o_.clock->Now()));
      for (const Due& s : d.skipped) {
        log::Warn("job {}: skipped the run due at {}: the previous run is still going", scheduler_.jobs()[s.job].name,
                  IsoTime(static_cast<double>(s.scheduled)));
      }
      for (const Due& s : d.start) StartJob(s);
      cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping_.load(); });
    }
  }
}

// REQUIRES: mu_ held.
void Service::StartJob(const Due& due) {
  ++running_;
  // A copy: a reload may replace the job list while this run goes on.
  JobSpec job = scheduler_.jobs()[due.job];
  log::Info("job {}: starting {}{} (scheduled {})", job.name, job.command, due.missed ? ", a missed run" : "",
            IsoTime(static_cast<double>(due.scheduled)));
  std::thread([this, due, job = std::move(job)] { RunJob(due, job); }).detach();
}

void Service::RunJob(Due due, JobSpec job) {
  double start = o_.clock->Now();
  RunOutcome outcome = runner_.Run(job);
  double end = o_.clock->Now();
  std::string prefix = "job " + job.name + ": ";
  size_t from = 0;
  while (from < outcome.log.size()) {
    size_t nl = outcome.log.find('\n', from);
    std::string line = outcome.log.substr(from, nl == std::string::npos ? std::string::npos : nl - from);
    if (!line.empty()) log::Info("{}| {}", prefix, line);
    if (nl == std::string::npos) break;
    from = nl + 1;
  }
  Finish(due, job, outcome, start, end);
}

void Service::Finish(const Due& due, const JobSpec& job, const RunOutcome& outcome, double start, double end) {
  RunRecord r;
  r.job = job.name;
  r.command = job.command;
  r.args = job.args;
  r.scheduled = due.scheduled;
  r.missed = due.missed;
  r.start = start;
  r.end = end;
  r.exit_code = outcome.exit_code;
  r.ok = outcome.exit_code == 0;
  r.interrupted = !r.ok && stopping_;
  r.error = r.ok ? "" : outcome.error;
  r.backup_id = outcome.backup_id;
  r.host = o_.host;
  RunRecord previous;
  int keep_runs = 0;
  std::string webhook;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = last_.find(job.name);
    if (it != last_.end()) previous = it->second;
    keep_runs = o_.config.keep_runs;
    webhook = o_.config.webhook;
  }
  r.failures_total = previous.failures_total;
  r.last_success = previous.last_success;
  // A run stopped by serve's own shutdown is recorded, but it is not the job failing.
  if (r.ok) {
    r.consecutive_failures = previous.consecutive_failures;  // for the recovery message
    r.last_success = end;
  } else if (!r.interrupted) {
    ++r.failures_total;
    r.consecutive_failures = previous.consecutive_failures + 1;
  } else {
    r.consecutive_failures = previous.consecutive_failures;
  }
  if (r.ok) {
    log::Info("job {}: ok in {:.1f} s{}", job.name, r.duration(), r.backup_id.empty() ? "" : " (" + r.backup_id + ")");
  } else {
    log::Error("job {}: {} after {:.1f} s (exit {}): {}", job.name, r.interrupted ? "interrupted" : "failed",
               r.duration(), r.exit_code, r.error);
  }
  if (records_) {
    auto path = StoreRunRecord(*records_, r, keep_runs);
    if (!path.ok()) log::Error("job {}: cannot write its run record: {}", job.name, path.status().message());
  }
  std::string event;
  if (!r.ok && !r.interrupted) event = "failure";
  if (r.ok && previous.consecutive_failures > 0) event = "recovery";
  RunRecord stored = r;
  if (r.ok) stored.consecutive_failures = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_[job.name] = stored;
  }
  if (!event.empty() && !webhook.empty()) {
    Status s = PostWebhook(webhook, WebhookPayload(event, r));
    if (!s.ok()) {
      log::Error("job {}: {} notification not delivered: {}", job.name, event, s.message());
    } else {
      log::Info("job {}: {} notification sent to {}", job.name, event, MaskWebhookUrl(webhook));
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    scheduler_.Finished(job.name);
    --running_;
    refresh_wanted_ = true;
  }
  cv_.notify_all();
}

void Service::Reload(ServeConfig config) {
  int64_t now = static_cast<int64_t>(o_.clock->Now());
  std::lock_guard<std::mutex> lock(mu_);
  scheduler_.Reload(config.jobs, config.timezone, now);
  o_.config.jobs = std::move(config.jobs);
  o_.config.timezone = config.timezone;
  o_.config.webhook = config.webhook;
  o_.config.keep_runs = config.keep_runs;
  o_.config.refresh_seconds = config.refresh_seconds;
  o_.config.schema_check_seconds = config.schema_check_seconds;
  cached_.timezone = config.timezone.name();
  log::Info("reloaded the configuration: {} job(s) in {}", scheduler_.jobs().size(), config.timezone.name());
  for (size_t i = 0; i < scheduler_.jobs().size(); ++i) {
    const auto& j = scheduler_.jobs()[i];
    auto next = scheduler_.next(i);
    log::Info("job {}: {} on \"{}\"{}, next {}", j.name, j.command, j.schedule.text(),
              scheduler_.running(i) ? " (running)" : "",
              next ? IsoTime(static_cast<double>(*next)) : std::string("never"));
  }
  refresh_wanted_ = true;
  cv_.notify_all();
}

bool Service::Stop(int sig) {
  stopping_ = true;
  int n = runner_.SignalAll(sig);
  if (n > 0) log::Info("stopping: forwarded the signal to {} running job(s), waiting for them", n);
  cv_.notify_all();
  std::unique_lock<std::mutex> lock(mu_);
  bool done = cv_.wait_for(lock, std::chrono::duration<double>(o_.stop_grace_s), [this] { return running_ == 0; });
  if (!done) log::Error("stopping: {} job(s) still running after {:.0f} s", running_, o_.stop_grace_s);
  lock.unlock();
  if (lease_thread_.joinable()) lease_thread_.join();
  // Handed over at once rather than after the ttl, unless a job of ours may still run.
  if (lease_ && active_ && done) {
    Status released = lease_->Release();
    if (!released.ok()) log::Warn("cannot release the schedule lease: {}", released.message());
  }
  return done;
}

void Service::RefreshLoop() {
  Refresh(true);
  auto last = std::chrono::steady_clock::now();
  while (!stopping_) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_.load() || refresh_wanted_; });
    bool due = std::chrono::steady_clock::now() - last >= std::chrono::seconds(o_.config.refresh_seconds);
    if (stopping_ || !(refresh_wanted_ || due)) continue;
    refresh_wanted_ = false;
    lock.unlock();
    Refresh(false);
    last = std::chrono::steady_clock::now();
  }
}

void Service::Refresh(bool force_check) {
  StatusSnapshot s;
  int schema_check_seconds = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s = cached_;
    schema_check_seconds = o_.config.schema_check_seconds;
  }
  double now = o_.clock->Now();
  bool with_check = force_check || now - last_check_ >= schema_check_seconds;
  CollectDatabase(o_.collect, with_check, now, &s);
  CollectRepository(o_.collect, &manifests_, &s);
  s.collected_at = now;
  // Standing by, the jobs' results are the active serve's: its run records.
  std::optional<std::map<std::string, RunRecord>> theirs;
  if (!active_ && records_) {
    std::vector<std::string> problems;
    if (auto latest = ReadRunRecords(&problems); latest.ok()) theirs = std::move(latest).value();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (with_check) last_check_ = now;
  cached_ = std::move(s);
  if (theirs && !active_) last_ = std::move(*theirs);
}

void Service::SetTlsCertificateExpiry(std::optional<double> not_after) {
  std::lock_guard<std::mutex> lock(mu_);
  tls_expiry_ = not_after;  // not in cached_: a refresh in progress would overwrite it
}

StatusSnapshot Service::Snapshot() {
  Probe p = Health();
  double now = o_.clock->Now();
  std::lock_guard<std::mutex> lock(mu_);
  StatusSnapshot s = cached_;
  s.database_up = p.ok;
  s.database_error = p.error;
  s.scheduler_active = active_;
  s.tls_certificate_expiry = tls_expiry_;
  s.scheduler_standby_for = active_ ? "" : standby_for_;
  for (size_t i = 0; i < scheduler_.jobs().size(); ++i) {
    const JobSpec& j = scheduler_.jobs()[i];
    JobStatus js;
    js.name = j.name;
    js.command = j.command;
    js.schedule = j.schedule.text();
    if (j.command == "backup") {
      js.backup_type = j.BackupType();
      js.backup_tag = j.BackupTag();
    }
    js.running = scheduler_.running(i);
    if (auto n = scheduler_.next(i)) js.next = static_cast<double>(*n);
    if (auto it = last_.find(j.name); it != last_.end()) {
      const RunRecord& r = it->second;
      js.last_run = r.end;
      js.last_success = r.last_success;
      js.last_ok = r.ok;
      js.last_error = r.error;
      js.last_backup_id = r.backup_id;
      js.failures_total = r.failures_total;
      js.consecutive_failures = r.consecutive_failures;
    }
    s.jobs.push_back(std::move(js));
  }
  ComputeDerived(&s, now);
  return s;
}

Probe Service::Health() {
  std::lock_guard<std::mutex> lock(probe_mu_);
  double now = o_.clock->Now();
  if (now - probe_at_ < 1.0) return probe_;
  Status s = ProbeDatabase(o_.collect.conninfo, o_.collect.probe_timeout_s);
  probe_ = {s.ok(), s.ok() ? "" : s.message()};
  probe_at_ = o_.clock->Now();
  return probe_;
}

std::vector<std::string> Service::NotReady() {
  std::vector<std::string> reasons;
  Probe p = Health();
  if (!p.ok) reasons.push_back("database unreachable: " + p.error);
  std::lock_guard<std::mutex> lock(mu_);
  if (cached_.migration_dirty) reasons.push_back("migrations are dirty (a migration failed halfway)");
  if (cached_.schema_differences && *cached_.schema_differences > 0) {
    reasons.push_back("schema has " + std::to_string(*cached_.schema_differences) + " error(s) against " +
                      cached_.schema_expected);
  }
  return reasons;
}

}  // namespace pgk::serve
