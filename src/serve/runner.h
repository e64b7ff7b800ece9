// Runs a job as a child process of the same binary: /proc/self/exe <command> --json
// [--config FILE] [--db URL] <args>. A crashing job cannot take serve down, and every
// command keeps its own safety (locks, atomic manifests, interrupt handling).
//
// The child gets its own session (a terminal's Ctrl-C reaches serve only, which forwards
// it) and SIGTERM as its parent-death signal, so a killed serve still stops its job
// cleanly. Its stderr is kept in a private temporary file and handed back for the log;
// its stdout is the command's --json document, from which the error message and the new
// backup's id are read.
//
// Thread safety: Run may be called from several threads at once; SignalAll from any.
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "serve/jobs.h"
#include "serve/run_record.h"

namespace pgk::serve {

struct RunnerOptions {
  std::string executable = "/proc/self/exe";
  std::vector<std::string> global_args;    // --config FILE, --db URL, ...
  std::map<std::string, std::string> env;  // added to the child's environment
  std::string scratch_dir;                 // private directory for the children's stderr
};

struct RunOutcome {
  int exit_code = 0;
  bool timed_out = false;  // stopped after the job's timeout
  std::string error;       // from the command's JSON error document, else the stderr tail
  std::string backup_id;   // from the backup command's JSON document
  std::string log;         // the child's stderr
};

class Runner {
 public:
  explicit Runner(RunnerOptions options) : options_(std::move(options)) {}

  // The child's argv (exposed for tests).
  std::vector<std::string> Argv(const JobSpec& job) const;
  // Blocks until the child exits. A job with a timeout gets SIGTERM when it runs out (it
  // aborts as on Ctrl-C), and SIGKILL if it is still there 30 s later.
  RunOutcome Run(const JobSpec& job);
  // Sends `sig` to every running child, and to any started from now on (shutdown);
  // returns how many were running.
  int SignalAll(int sig);
  int running() const;

 private:
  RunnerOptions options_;
  mutable std::mutex mutex_;
  std::set<pid_t> children_;
  int sequence_ = 0;
  int stop_signal_ = 0;
};

// Interprets a command's stdout (its --json document) and exit code.
RunOutcome InterpretOutput(int exit_code, const std::string& stdout_text, const std::string& stderr_text);

}  // namespace pgk::serve
