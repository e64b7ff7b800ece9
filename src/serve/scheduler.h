// When jobs run: pure decisions on a clock's readings, no I/O, so that every rule is
// unit-tested with a fake clock.
//   - A job is due when its next fire time has come. The next fire time is then computed
//     from "now", so a stall (suspend, a long GC) yields one run, not a burst.
//   - A job still running is never started twice: a fire time that comes while it runs is
//     skipped (reported, so the caller logs it).
//   - Missed runs: at start-up, a job whose last scheduled time before now is later than
//     the schedule its last recorded run was for runs once, immediately. A job with no
//     recorded run at all is new and waits for its first fire time.
//   - Reload (SIGHUP): the job list is replaced; a job that keeps its name keeps its
//     state (running, next fire time, a pending catch-up) unless its schedule or the time
//     zone changed, which recomputes its next fire time; a new job waits for its first.
//
// Thread safety: none; the caller serialises (serve holds one mutex around it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "serve/jobs.h"

namespace pgk::serve {

struct Due {
  size_t job = 0;         // index into the jobs
  int64_t scheduled = 0;  // the fire time this run is for
  bool missed = false;    // a catch-up run at start-up
};

struct Decisions {
  std::vector<Due> start;    // start these now (they are marked running)
  std::vector<Due> skipped;  // due, but the job is still running
};

class Scheduler {
 public:
  Scheduler(std::vector<JobSpec> jobs, TimeZone tz)
      : jobs_(std::move(jobs)), tz_(std::move(tz)), state_(jobs_.size()) {}

  // `last_scheduled`: job name -> the fire time of its last recorded run.
  void Start(int64_t now, const std::map<std::string, int64_t>& last_scheduled);
  Decisions Tick(int64_t now);
  // The run of the job named `job` ended (a job removed by Reload meanwhile: nothing).
  void Finished(const std::string& job);
  void Reload(std::vector<JobSpec> jobs, TimeZone tz, int64_t now);

  const std::vector<JobSpec>& jobs() const { return jobs_; }
  const TimeZone& timezone() const { return tz_; }
  bool running(size_t job) const { return state_[job].running; }
  std::optional<int64_t> next(size_t job) const { return state_[job].next; }

 private:
  struct State {
    std::optional<int64_t> next;
    std::optional<int64_t> missed;  // a catch-up run waiting to start
    bool running = false;
  };
  std::vector<JobSpec> jobs_;
  TimeZone tz_;
  std::vector<State> state_;
};

}  // namespace pgk::serve
