#include "repo/lock.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/hash.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "common/utc_time.h"
#include "repo/manifest.h"

namespace pgk::repo {

namespace {

using nlohmann::json;

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot) and the state
// letter; 0 when unreadable. Tells a live holder from an unrelated process that was
// given the same pid after the holder died.
uint64_t ProcessStart(int64_t pid, char* state) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = text.rfind(')');  // the command name may contain spaces and parentheses
  if (paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(paren + 1));
  std::string field;
  uint64_t start = 0;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 3 && state != nullptr) *state = field.empty() ? '?' : field[0];
    if (i == 22) start = std::strtoull(field.c_str(), nullptr, 10);
  }
  return start;
}

bool ProcessAlive(int64_t pid, uint64_t recorded_start) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
  char state = '?';
  uint64_t start = ProcessStart(pid, &state);
  if (state == 'Z' || state == 'X') return false;
  return recorded_start == 0 || start == 0 || start == recorded_start;
}

int64_t EpochOr(const std::string& iso, int64_t fallback) {
  auto t = ParseIso8601(iso);
  return t.ok() ? *t : fallback;
}

LockHolder Judge(const storage::FileInfo& info, const Result<std::string>& text, int64_t now) {
  LockHolder h;
  h.path = info.path;
  try {
    if (!text.ok()) throw std::runtime_error(text.status().message());
    json j = json::parse(*text);
    h.mode = j.at("mode").get<std::string>() == "exclusive" ? LockMode::kExclusive : LockMode::kShared;
    h.purpose = j.value("purpose", "");
    h.host = j.value("host", "");
    h.pid = j.value("pid", int64_t{0});
    h.acquired = j.value("acquired", "");
    h.refreshed = j.value("refreshed", h.acquired);
    int64_t stale_after = j.value("stale_after_s", kLockStaleAfterS);
    int64_t age = now - EpochOr(h.refreshed, info.mtime_s);
    if (age > stale_after) {
      h.stale = true;
      h.stale_reason = "not refreshed for " + std::to_string(age) + " s";
    } else if (h.host == HostName() && !ProcessAlive(h.pid, j.value("pid_start", uint64_t{0}))) {
      h.stale = true;
      h.stale_reason = "process " + std::to_string(h.pid) + " no longer runs on this host";
    }
  } catch (const std::exception& e) {
    // Written atomically, so a damaged object was damaged after the fact; it blocks like
    // a live holder until it is as old as a stale one.
    h.mode = LockMode::kExclusive;
    h.purpose = "unreadable lock object (" + std::string(e.what()) + ")";
    h.stale = now - info.mtime_s > kLockStaleAfterS;
    if (h.stale) h.stale_reason = "damaged and older than " + std::to_string(kLockStaleAfterS) + " s";
  }
  return h;
}

}  // namespace

std::string_view LockModeName(LockMode mode) { return mode == LockMode::kExclusive ? "exclusive" : "shared"; }

std::string LockHolder::Describe() const {
  std::string s = purpose.empty() ? std::string("a process") : purpose;
  s += " (" + std::string(LockModeName(mode)) + ")";
  if (pid > 0) s += " by pid " + std::to_string(pid) + " on host " + host;
  if (!acquired.empty()) s += " since " + acquired;
  return s;
}

struct RepoLock::State {
  storage::Storage* storage = nullptr;
  std::string path;
  json body;
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::thread refresher;
  int hook = -1;

  // REQUIRES: mu is held.
  Status Write() {
    body["refreshed"] = Iso8601(std::time(nullptr));
    return storage->Put(path, body.dump(2) + "\n", {.atomic = true, .sync = true});
  }
  // Idempotent; safe from the interrupt thread and the destructor at once.
  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    if (released) return;
    released = true;
    cv.notify_all();
    Status s = storage->Remove(path);
    if (!s.ok()) log::Warn("could not remove the repository lock {}: {}", path, s.message());
  }
};

RepoLock::RepoLock(std::shared_ptr<State> state) : state_(std::move(state)) {}

RepoLock::~RepoLock() {
  RemoveCleanupHook(state_->hook);
  state_->Release();
  if (state_->refresher.joinable()) state_->refresher.join();
}

const std::string& RepoLock::path() const { return state_->path; }

Result<std::unique_ptr<RepoLock>> RepoLock::Acquire(storage::Storage& storage, LockMode mode,
                                                    const std::string& purpose) {
  int64_t now = std::time(nullptr);
  std::string stamp = FormatUtc(now, kCompactUtc);
  auto state = std::make_shared<State>();
  state->storage = &storage;
  state->path = std::string(kLockDir) + std::string(LockModeName(mode)) + "-" + stamp + "-" + RandomHex(4) + ".json";
  state->body = {{"mode", LockModeName(mode)},
                 {"purpose", purpose},
                 {"host", HostName()},
                 {"pid", static_cast<int64_t>(::getpid())},
                 {"pid_start", ProcessStart(::getpid(), nullptr)},
                 {"acquired", Iso8601(now)},
                 {"stale_after_s", kLockStaleAfterS}};
  {
    std::lock_guard<std::mutex> lock(state->mu);
    PGK_RETURN_IF_ERROR(state->Write().WithContext("taking the repository lock"));
  }
  std::unique_ptr<RepoLock> held(new RepoLock(state));  // from here on, destruction releases
  std::weak_ptr<State> weak = state;
  state->hook = AddCleanupHook([weak] {
    if (auto s = weak.lock()) s->Release();
  });

  PGK_ASSIGN_OR_RETURN(auto files, storage.List(kLockDir));
  for (const auto& f : files) {
    if (f.path == state->path || f.path.size() < 5 || f.path.compare(f.path.size() - 5, 5, ".json") != 0) continue;
    auto text = storage.Get(f.path);
    if (!text.ok() && text.status().code() == Code::kNotFound) continue;  // released meanwhile
    LockHolder other = Judge(f, text, std::time(nullptr));
    if (other.stale) {
      log::Info("removing a stale repository lock: {} ({})", other.Describe(), other.stale_reason);
      (void)storage.Remove(f.path);  // best effort: whoever removes it, it is gone
      continue;
    }
    if (mode == LockMode::kExclusive || other.mode == LockMode::kExclusive) {
      return Status::Refused(
          purpose + " cannot start: the repository " + storage.Url() + " is in use by " + other.Describe(),
          "wait for it to finish; a lock not refreshed for " + std::to_string(kLockStaleAfterS / 60) +
              " minutes is stale, and one of a " + "process that died on this host is ignored at once (" + f.path +
              ")");
    }
  }

  state->refresher = std::thread([raw = state.get()] {
    std::unique_lock<std::mutex> lock(raw->mu);
    while (!raw->released) {
      if (raw->cv.wait_for(lock, std::chrono::seconds(kLockRefreshS), [raw] { return raw->released; })) break;
      Status s = raw->Write();
      if (!s.ok()) log::Warn("could not refresh the repository lock {}: {}", raw->path, s.message());
    }
  });
  return held;
}

Result<std::vector<LockHolder>> ListLocks(storage::Storage& storage) {
  PGK_ASSIGN_OR_RETURN(auto files, storage.List(kLockDir));
  std::vector<LockHolder> out;
  int64_t now = std::time(nullptr);
  for (const auto& f : files) {
    if (f.path.size() < 5 || f.path.compare(f.path.size() - 5, 5, ".json") != 0) continue;
    auto text = storage.Get(f.path);
    if (!text.ok() && text.status().code() == Code::kNotFound) continue;
    out.push_back(Judge(f, text, now));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const LockHolder& a, const LockHolder& b) { return a.acquired < b.acquired; });
  return out;
}

}  // namespace pgk::repo
