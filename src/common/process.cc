#include "common/process.h"
#include "common/child_fds.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace pgk {

namespace {
std::atomic<bool> g_inherit_only_stdio{false};
}  // namespace

void SetChildrenInheritOnlyStdio(bool on) { g_inherit_only_stdio = on; }
bool ChildrenInheritOnlyStdio() { return g_inherit_only_stdio; }

bool IsRoot() { return ::geteuid() == 0; }

std::string SelfExecutable() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "pgkeeper";
}

Result<UserInfo> LookupUser(const std::string& name) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return Status::NotFound("system user '" + name + "' does not exist",
                            "install the postgresql package, which creates it, or run as a non-root user");
  }
  return UserInfo{.name = pw.pw_name, .uid = pw.pw_uid, .gid = pw.pw_gid, .home = pw.pw_dir ? pw.pw_dir : ""};
}

bool UserCanTraverse(const UserInfo& user, const std::string& dir) {
  if (!IsRoot() || user.uid == ::geteuid()) return ::access(dir.c_str(), X_OK) == 0;
  // access() checks the real uid, so ask a child that has become `user`.
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(user.gid) != 0 || ::setuid(user.uid) != 0) ::_exit(2);
    ::_exit(::access(dir.c_str(), X_OK) == 0 ? 0 : 1);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

namespace {

std::vector<std::string> BuildEnv(const ProcessOptions& o) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    std::string key = entry.substr(0, entry.find('='));
    if (o.env.count(key)) continue;
    bool drop = false;
    for (const auto& u : o.unset_env) drop = drop || u == key;
    if (!drop) env.push_back(entry);
  }
  for (const auto& [k, v] : o.env) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result<Process> Process::Spawn(const ProcessOptions& options) {
  if (options.argv.empty()) return Status::Internal("no program to run");
  if (options.run_as && !IsRoot() && options.run_as->uid != ::geteuid()) {
    return Status::Refused("cannot run " + options.argv[0] + " as user " + options.run_as->name + " without root");
  }
  // Everything the child needs is prepared before fork(): after it, only async-signal-safe
  // calls are allowed because other threads may hold locks (malloc's among them).
  std::vector<std::string> argv_s = options.argv;
  std::vector<std::string> env_s = BuildEnv(options);
  std::vector<char*> argv = CStrings(argv_s);
  std::vector<char*> envp = CStrings(env_s);

  int out_fd = -1;
  if (!options.output_file.empty()) {
    out_fd = ::open(options.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (out_fd < 0) return Status::IO("cannot open " + options.output_file + ": " + std::strerror(errno));
  }
  int err_fd = -1;
  if (!options.stderr_file.empty()) {
    err_fd = ::open(options.stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (err_fd < 0) return Status::IO("cannot open " + options.stderr_file + ": " + std::strerror(errno));
  }
  int pipe_fds[2] = {-1, -1};
  if (options.capture && ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    if (out_fd >= 0) ::close(out_fd);
    return Status::IO(std::string("cannot create pipe: ") + std::strerror(errno));
  }
  int err_pipe[2];  // reports exec failure (errno) back to the parent
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Status::IO("cannot create pipe");

  pid_t parent = ::getpid();
  const bool inherit_only_stdio = g_inherit_only_stdio;  // read before fork: no atomics in the child
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    if (out_fd >= 0) ::close(out_fd);
    if (err_fd >= 0) ::close(err_fd);
    return Status::ChildFailed("cannot fork to run " + options.argv[0] + ": " + std::strerror(err));
  }
  if (pid == 0) {
    auto fail = [&](int stage) {
      int payload[2] = {stage, errno};
      (void)!::write(err_pipe[1], payload, sizeof payload);
      ::_exit(127);
    };
    if (options.new_session) ::setsid();
    if (options.stdin_null) {
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    }
    if (out_fd >= 0) {
      ::dup2(out_fd, STDOUT_FILENO);
      ::dup2(out_fd, STDERR_FILENO);
    } else if (options.capture) {
      ::dup2(pipe_fds[1], STDOUT_FILENO);
      ::dup2(pipe_fds[1], STDERR_FILENO);
    }
    if (err_fd >= 0) ::dup2(err_fd, STDERR_FILENO);
    if (options.run_as && IsRoot()) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(options.run_as->gid) != 0 || ::setuid(options.run_as->uid) != 0) {
        fail(1);
      }
    }
    // Set after setuid: the kernel clears the parent-death signal on a credential change.
    if (options.parent_death_signal != 0) {
      ::prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
      if (::getppid() != parent) ::_exit(1);  // parent already gone
    }
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) fail(2);
    // Restore default signal dispositions and mask: we may have blocked signals in the
    // parent for the signal thread, and a child must not inherit that.
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    if (inherit_only_stdio) {
      // Close-on-exec rather than closed: err_pipe must stay open until execve.
      if (::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) != 0) {
        for (int fd = 3; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      }
    }
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(argv[0], argv.data(), envp.data());
    fail(3);
  }
  ::close(err_pipe[1]);
  if (out_fd >= 0) ::close(out_fd);
  if (err_fd >= 0) ::close(err_fd);
  if (options.capture) ::close(pipe_fds[1]);
  int payload[2] = {0, 0};
  ssize_t n;
  while ((n = ::read(err_pipe[0], payload, sizeof payload)) < 0 && errno == EINTR) {
  }
  ::close(err_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof payload)) {
    int st;
    ::waitpid(pid, &st, 0);
    if (options.capture) ::close(pipe_fds[0]);
    const char* stage = payload[0] == 1 ? "cannot switch to user" : payload[0] == 2 ? "cannot change directory for" : "cannot execute";
    return Status::ChildFailed(std::string(stage) + " " + options.argv[0] + ": " + std::strerror(payload[1]));
  }
  return Process(pid, options.capture ? pipe_fds[0] : -1);
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (out_fd_ >= 0) ::close(out_fd_);
    pid_ = other.pid_;
    out_fd_ = other.out_fd_;
    other.pid_ = -1;
    other.out_fd_ = -1;
  }
  return *this;
}

Process::~Process() {
  if (out_fd_ >= 0) ::close(out_fd_);
}

std::string Process::ReadAllOutput() {
  std::string out;
  if (out_fd_ < 0) return out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(out_fd_);
  out_fd_ = -1;
  return out;
}

Result<size_t> Process::ReadOutput(char* buf, size_t n) {
  if (out_fd_ < 0) return static_cast<size_t>(0);
  for (;;) {
    ssize_t r = ::read(out_fd_, buf, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::IO(std::string("cannot read a child's output: ") + std::strerror(errno));
    if (r == 0) {
      ::close(out_fd_);
      out_fd_ = -1;
    }
    return static_cast<size_t>(r);
  }
}

static int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

int Process::Wait() {
  if (pid_ <= 0) return 0;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return 255;
  }
  pid_ = -1;
  return DecodeStatus(status);
}

std::optional<int> Process::TryWait() {
  if (pid_ <= 0) return 0;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return std::nullopt;
  pid_ = -1;
  if (r < 0) return 255;
  return DecodeStatus(status);
}

void Process::Signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

Result<ProcessResult> RunProcess(ProcessOptions options) {
  if (options.output_file.empty()) options.capture = true;
  PGK_ASSIGN_OR_RETURN(Process p, Process::Spawn(options));
  ProcessResult r;
  r.output = p.ReadAllOutput();
  r.exit_code = p.Wait();
  return r;
}

}  // namespace pgk
