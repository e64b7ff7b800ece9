#include "serve/runner.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/fs.h"
#include "common/mask.h"
#include "common/process.h"

namespace pgk::serve {

std::vector<std::string> Runner::Argv(const JobSpec& job) const {
  std::vector<std::string> argv = {options_.executable, job.command, "--json"};
  argv.insert(argv.end(), options_.global_args.begin(), options_.global_args.end());
  argv.insert(argv.end(), job.args.begin(), job.args.end());
  return argv;
}

RunOutcome InterpretOutput(int exit_code, const std::string& out, const std::string& err) {
  RunOutcome o;
  o.exit_code = exit_code;
  o.log = err;
  nlohmann::json doc = nlohmann::json::parse(out, nullptr, false);
  if (doc.is_discarded()) {
    // A command may print more than its document (warnings); take the last object.
    if (auto brace = out.rfind("\n{"); brace != std::string::npos) {
      doc = nlohmann::json::parse(out.substr(brace + 1), nullptr, false);
    }
  }
  if (doc.is_object()) {
    if (doc.contains("error") && doc["error"].is_object()) {
      o.error = doc["error"].value("message", "");
      if (auto hint = doc["error"].value("hint", ""); !hint.empty()) o.error += " (hint: " + hint + ")";
    }
    if (doc.contains("id") && doc["id"].is_string()) o.backup_id = doc["id"].get<std::string>();
  }
  if (exit_code != 0 && o.error.empty()) {
    // No error document (a crash, a signal, or a check that found a problem): the last
    // line the command wrote to stderr says the most.
    std::string tail = err;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
    if (auto nl = tail.rfind('\n'); nl != std::string::npos) tail = tail.substr(nl + 1);
    o.error = exit_code > 128
                  ? "killed by signal " + std::to_string(exit_code - 128) + (tail.empty() ? "" : ": " + tail)
              : !tail.empty() ? tail
                              : "exited with code " + std::to_string(exit_code);
  }
  o.error = MaskSecrets(o.error);
  return o;
}

RunOutcome Runner::Run(const JobSpec& job) {
  std::string err_file;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    err_file = options_.scratch_dir + "/" + job.name + "-" + std::to_string(++sequence_) + ".stderr";
  }
  ProcessOptions po;
  po.argv = Argv(job);
  po.env = options_.env;
  // The jobs have no use for serve's HTTP access token; what a child does not hold, it
  // cannot leak.
  po.unset_env = {"PGKEEPER_SERVE_TOKEN"};
  po.capture = true;
  po.stderr_file = err_file;
  po.new_session = true;
  po.parent_death_signal = SIGTERM;
  auto child = Process::Spawn(po);
  if (!child.ok()) {
    RunOutcome o;
    o.exit_code = 127;
    o.error = child.status().message();
    return o;
  }
  pid_t pid = child->pid();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    children_.insert(pid);
    // A shutdown that signalled the children just before this one was registered.
    if (stop_signal_ != 0) ::kill(pid, stop_signal_);
  }
  // The watchdog: the child is reaped only below, so its pid cannot be reused meanwhile.
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool done = false, timed_out = false;
  std::thread watchdog;
  if (job.timeout_s > 0) {
    watchdog = std::thread([&] {
      std::unique_lock<std::mutex> lock(done_mu);
      if (done_cv.wait_for(lock, std::chrono::seconds(job.timeout_s), [&] { return done; })) return;
      timed_out = true;
      ::kill(pid, SIGTERM);
      if (!done_cv.wait_for(lock, std::chrono::seconds(30), [&] { return done; })) ::kill(pid, SIGKILL);
    });
  }
  std::string out = child->ReadAllOutput();
  // Wait for the exit without reaping: until Wait() below the pid stays ours (a zombie),
  // so neither the watchdog nor SignalAll can hit a process that reused it.
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    children_.erase(pid);
  }
  if (watchdog.joinable()) {
    {
      std::lock_guard<std::mutex> lock(done_mu);
      done = true;
    }
    done_cv.notify_all();
    watchdog.join();
  }
  int code = child->Wait();
  auto err_text = fs::ReadFile(err_file);
  std::string err = err_text.ok() ? *err_text : "";
  std::error_code ec;
  std::filesystem::remove(err_file, ec);
  RunOutcome o = InterpretOutput(code, out, err);
  if (timed_out) {
    o.timed_out = true;
    if (o.exit_code == 0) o.exit_code = 128 + SIGTERM;
    o.error = "timed out after " + std::to_string(job.timeout_s) + " s" + (o.error.empty() ? "" : ": " + o.error);
  }
  return o;
}

int Runner::SignalAll(int sig) {
  std::lock_guard<std::mutex> lock(mutex_);
  stop_signal_ = sig;
  for (pid_t pid : children_) ::kill(pid, sig);
  return static_cast<int>(children_.size());
}

int Runner::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(children_.size());
}

}  // namespace pgk::serve
