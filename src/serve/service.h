// The serve process: the scheduler loop, the jobs' threads (one per running job, each
// waiting on its child), run records and notifications, and the status snapshot that the
// HTTP endpoints read. cli/cmd_serve.cc wires it to the command line and http.h.
//
// Thread safety: every public method may be called from any thread (the HTTP server's,
// the signal thread's Stop, the main thread's Loop); one mutex guards the state.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "serve/clock.h"
#include "serve/collect.h"
#include "serve/jobs.h"
#include "serve/lease.h"
#include "serve/run_record.h"
#include "serve/runner.h"
#include "serve/scheduler.h"
#include "serve/status.h"
#include "storage/storage.h"

namespace pgk::serve {

struct ServiceOptions {
  ServeConfig config;
  CollectOptions collect;
  RunnerOptions runner;
  const Clock* clock = nullptr;
  std::string host;
  std::string version;
  std::string database_display;   // masked target, for the status page
  double stop_grace_s = 120;      // how long Stop waits for running jobs to finish
  double lease_ttl_s = 60;        // the schedule lease (lease.h)
};

struct Probe {
  bool ok = false;
  std::string error;
};

class Service {
 public:
  explicit Service(ServiceOptions options);
  ~Service();

  // Opens the repository's storage for run records and tries to take the schedule lease:
  // with it, reads each job's newest record and decides missed runs; without it (another
  // serve runs this repository's schedule), stands by and takes over when that one's
  // lease goes stale. Errors: the repository URL is malformed.
  Status Init();
  // Runs until Stop(): starts due jobs, refreshes the status.
  void Loop();
  // Stops scheduling, forwards `sig` to running jobs and waits (bounded) for them and
  // their records. Returns false when a job was still running at the deadline.
  bool Stop(int sig);
  // Takes the jobs, time zone, webhook, keep_runs, refresh_seconds and schema_check_seconds
  // of `config` (SIGHUP); running jobs finish under the definition they started with.
  // `config.listen` is not applied (the HTTP server keeps its socket): it is ignored here.
  void Reload(ServeConfig config);

  // HTTPS: the expiry of the certificate serve presents (at start-up and each reload).
  void SetTlsCertificateExpiry(std::optional<double> not_after);
  StatusSnapshot Snapshot();
  double Now() const { return o_.clock->Now(); }
  // Live database probe, cached for a second so that probes cannot hammer the server.
  Probe Health();
  // Health plus the cached migration and schema state: the reasons it is not ready.
  std::vector<std::string> NotReady();

 private:
  // Reads the jobs' newest run records (the schedule's memory, wherever it ran) and
  // starts the scheduler from them as of `since`: at start-up and when taking over from
  // another serve.
  void ResumeSchedule(int64_t since);
  // The newest run record of each configured job (the repository's I/O outside mu_).
  // REQUIRES: records_.
  Result<std::map<std::string, RunRecord>> ReadRunRecords(std::vector<std::string>* problems);
  void LeaseLoop();
  void StartJob(const Due& due);
  void RunJob(Due due, JobSpec job);
  void Finish(const Due& due, const JobSpec& job, const RunOutcome& outcome, double start, double end);
  void RefreshLoop();
  void Refresh(bool force_check);

  ServiceOptions o_;  // o_.config changes on Reload: read it under mu_ once Loop runs
  Runner runner_;
  std::unique_ptr<storage::Storage> records_;  // the repository's storage (null: none configured)
  std::mutex mu_;
  std::condition_variable cv_;
  Scheduler scheduler_;
  std::map<std::string, RunRecord> last_;  // newest record per job
  int running_ = 0;
  std::atomic<bool> stopping_{false};
  bool refresh_wanted_ = false;
  StatusSnapshot cached_;  // the slow parts
  ManifestCache manifests_;  // only the refresher thread touches it
  double last_check_ = 0;
  std::thread refresher_;
  std::unique_ptr<ScheduleLease> lease_;  // null without a repository; only Init and LeaseLoop use it
  std::atomic<bool> active_{true};        // this serve runs the schedule (holds the lease)
  std::string standby_for_;               // who does when it does not (under mu_)
  std::optional<double> tls_expiry_;      // under mu_
  std::thread lease_thread_;
  std::mutex probe_mu_;
  double probe_at_ = -1e18;
  Probe probe_;
};

}  // namespace pgk::serve
