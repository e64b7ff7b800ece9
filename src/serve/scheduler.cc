#include "serve/scheduler.h"

namespace pgk::serve {

void Scheduler::Start(int64_t now, const std::map<std::string, int64_t>& last_scheduled) {
  for (size_t i = 0; i < jobs_.size(); ++i) {
    State& s = state_[i];
    s.next = jobs_[i].schedule.Next(now, tz_);
    auto last = last_scheduled.find(jobs_[i].name);
    if (last == last_scheduled.end()) continue;
    auto prev = jobs_[i].schedule.Previous(now, tz_);
    if (prev && *prev > last->second) s.missed = *prev;
  }
}

Decisions Scheduler::Tick(int64_t now) {
  Decisions d;
  for (size_t i = 0; i < jobs_.size(); ++i) {
    State& s = state_[i];
    std::optional<Due> due;
    if (s.missed) {
      due = Due{i, *s.missed, true};
      s.missed.reset();
    }
    if (s.next && *s.next <= now) {
      // A fire time that comes with a catch-up run pending is served by that run.
      if (!due) due = Due{i, *s.next, false};
      s.next = jobs_[i].schedule.Next(now, tz_);
    }
    if (!due) continue;
    if (s.running) {
      d.skipped.push_back(*due);
    } else {
      s.running = true;
      d.start.push_back(*due);
    }
  }
  return d;
}

void Scheduler::Finished(const std::string& job) {
  for (size_t i = 0; i < jobs_.size(); ++i)
    if (jobs_[i].name == job) state_[i].running = false;
}

void Scheduler::Reload(std::vector<JobSpec> jobs, TimeZone tz, int64_t now) {
  bool same_zone = tz.name() == tz_.name();
  std::vector<State> state(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    State& s = state[i];
    s.next = jobs[i].schedule.Next(now, tz);
    for (size_t old = 0; old < jobs_.size(); ++old) {
      if (jobs_[old].name != jobs[i].name) continue;
      s.running = state_[old].running;
      if (same_zone && jobs_[old].schedule.text() == jobs[i].schedule.text()) {
        s.next = state_[old].next;
        s.missed = state_[old].missed;
      }
    }
  }
  jobs_ = std::move(jobs);
  tz_ = std::move(tz);
  state_ = std::move(state);
}

}  // namespace pgk::serve
