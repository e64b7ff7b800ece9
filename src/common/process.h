// Child processes (initdb, postgres, pg_dump, ...). Behind one small interface so that
// tests can inject a failing or killed child. Secrets must never go into argv (visible in
// `ps`): pass them through `env` or a private file instead.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgk {

struct UserInfo {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

bool IsRoot();
// The running executable's absolute path (/proc/self/exe), for re-running pgkeeper itself
// (restore_command, dr's steps); "pgkeeper" if it cannot be read.
std::string SelfExecutable();
Result<UserInfo> LookupUser(const std::string& name);
// True if `user` may traverse (execute) every directory down to and including `dir`.
bool UserCanTraverse(const UserInfo& user, const std::string& dir);

struct ProcessOptions {
  std::vector<std::string> argv;            // argv[0] is the program path
  std::map<std::string, std::string> env;   // added to (or replacing in) the inherited environment
  std::vector<std::string> unset_env;       // removed from the inherited environment
  std::optional<UserInfo> run_as;           // drop privileges to this user (root only)
  std::string cwd;
  std::string output_file;                  // append stdout+stderr here (empty: inherit/capture)
  std::string stderr_file;                  // stderr goes here instead (truncated first)
  bool capture = false;                     // capture stdout (+stderr unless stderr_file) (RunProcess)
  bool new_session = false;                 // setsid(): own process group, no terminal signals
  int parent_death_signal = 0;              // signal sent to the child when we die (Linux)
  bool stdin_null = true;
};

class Process {
 public:
  static Result<Process> Spawn(const ProcessOptions& options);
  Process(Process&& other) noexcept : pid_(other.pid_), out_fd_(other.out_fd_) {
    other.pid_ = -1;
    other.out_fd_ = -1;
  }
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  ~Process();

  pid_t pid() const { return pid_; }
  // Reads captured output until EOF (only with options.capture).
  std::string ReadAllOutput();
  // Streams captured output: up to `n` bytes, 0 at EOF (only with options.capture).
  Result<size_t> ReadOutput(char* buf, size_t n);
  // Blocks until the child exits. Returns the exit code, or 128+signal.
  int Wait();
  // Non-blocking: the exit status if the child has exited.
  std::optional<int> TryWait();
  void Signal(int sig) const;
  // Forget the child without waiting (it keeps running, e.g. a detached server).
  void Detach() { pid_ = -1; }

 private:
  explicit Process(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}
  pid_t pid_ = -1;
  int out_fd_ = -1;
};

struct ProcessResult {
  int exit_code = 0;
  std::string output;  // stdout and stderr, interleaved
};

// Runs to completion capturing output. A non-zero exit is not an error here: callers
// decide what it means; only a failure to start is.
Result<ProcessResult> RunProcess(ProcessOptions options);

}  // namespace pgk
