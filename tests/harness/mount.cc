#include "harness/mount.h"

#include <sys/statvfs.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/harness.h"

namespace pgk::test {

namespace {

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::unique_ptr<PrivateMount> PrivateMount::Make(const std::string& dir, const std::string& script, std::string* why) {
  std::string unshare = FindOnPath("unshare");
  if (unshare.empty()) {
    *why = "no unshare(1) on PATH: cannot make a private mount namespace";
    return nullptr;
  }
  // Root can mount in a plain mount namespace; anyone else may, where the kernel allows
  // unprivileged user namespaces, as the namespace's own root (-r). Root tries both: a
  // container may deny CAP_SYS_ADMIN yet allow user namespaces.
  std::vector<std::vector<std::string>> ways;
  if (IsRoot()) ways.push_back({unshare, "-m"});
  ways.push_back({unshare, "-r", "-m"});
  std::string errors;
  static int counter = 0;
  for (auto& argv : ways) {
    std::string log = TempPath("mount-" + std::to_string(counter++) + ".log");
    argv.insert(argv.end(), {"sh", "-c", script + " && echo ready && exec sleep 86400"});
    auto p = Process::Spawn({.argv = argv, .output_file = log, .parent_death_signal = SIGKILL});
    if (!p.ok()) {
      errors += p.status().ToString() + "; ";
      continue;
    }
    for (int i = 0; i < 200; ++i) {
      if (ReadText(log).find("ready") != std::string::npos) {
        pid_t pid = p->pid();
        return std::unique_ptr<PrivateMount>(
            new PrivateMount(std::move(p).value(), "/proc/" + std::to_string(pid) + "/root" + dir));
      }
      if (p->TryWait()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    p->Signal(SIGKILL);
    p->Wait();
    errors += argv[0] + " " + argv[1] + (argv[2] == "-m" ? " -m" : "") + ": " + ReadText(log) + "; ";
  }
  *why = "cannot mount in a private mount namespace (" + errors +
         "); run as root, or enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)";
  return nullptr;
}

std::unique_ptr<PrivateMount> PrivateMount::Tmpfs(const std::string& name, size_t bytes, std::string* why) {
  std::string dir = TempPath(name);
  std::filesystem::create_directories(dir);
  return Make(dir, "mount -t tmpfs -o size=" + std::to_string(bytes) + ",mode=0700 pgkeeper-test " + ShellQuote(dir),
              why);
}

std::unique_ptr<PrivateMount> PrivateMount::ReadOnly(const std::string& dir, std::string* why) {
  // A bind mount of a directory onto itself, then remounted read-only: only this view is
  // read-only, the directory itself stays writable through its ordinary path.
  return Make(
      dir,
      "mount --bind " + ShellQuote(dir) + " " + ShellQuote(dir) + " && mount -o remount,bind,ro " + ShellQuote(dir),
      why);
}

PrivateMount::~PrivateMount() {
  process_.Signal(SIGKILL);
  process_.Wait();
}

uint64_t PrivateMount::UsedBytes() const {
  struct statvfs st {};
  if (::statvfs(path_.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_blocks - st.f_bfree) * st.f_frsize;
}

}  // namespace pgk::test
