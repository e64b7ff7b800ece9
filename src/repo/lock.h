// The repository lock: objects under locks/ in the repository itself, so that it works
// for every process that can write the repository, on any host and on object stores that
// have no file locks.
//
// Shared holders (backup, expire, drill) exclude an exclusive holder (repo rekey) and the
// other way round; shared holders do not exclude each other. Acquire writes the holder's
// own object first and only then lists the others: of two processes that race, at least
// the later one sees the other (writes are atomic and listings read-after-write consistent
// on posix and S3), so both may back off but never both proceed.
//
// An object records mode, purpose, host, pid (and the pid's start time), when it was
// taken and when it was last refreshed. The holder refreshes it every kLockRefreshS
// seconds from a background thread. Another process treats it as stale, removes it and
// proceeds when it was not refreshed for its stale_after_s (kLockStaleAfterS), or at once
// when it names this host and its process no longer exists (kill -9, power loss).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/storage.h"

namespace pgk::repo {

enum class LockMode { kNone, kShared, kExclusive };

inline constexpr char kLockDir[] = "locks/";
inline constexpr int64_t kLockRefreshS = 60;
inline constexpr int64_t kLockStaleAfterS = 600;

struct LockHolder {
  std::string path;  // "locks/<mode>-<time>-<random>.json"
  LockMode mode = LockMode::kShared;
  std::string purpose;  // "backup", "repo rekey", ...
  std::string host;
  int64_t pid = 0;
  std::string acquired;   // ISO 8601 UTC
  std::string refreshed;  // ISO 8601 UTC
  bool stale = false;
  std::string stale_reason;  // why, when stale
  // "repo rekey (exclusive) by pid 123 on host db1 since 2026-11-22T01:02:03Z"
  std::string Describe() const;
};

std::string_view LockModeName(LockMode mode);  // "shared" | "exclusive"

class RepoLock {
 public:
  // Takes the lock, removing stale objects of others on the way. Refused (exit 2) naming a
  // live conflicting holder, with a hint on staleness.
  // REQUIRES: `storage` outlives the lock; mode is not kNone.
  static Result<std::unique_ptr<RepoLock>> Acquire(storage::Storage& storage, LockMode mode,
                                                   const std::string& purpose);
  ~RepoLock();  // stops refreshing and removes the object (best effort)
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;

  const std::string& path() const;

  struct State;

 private:
  explicit RepoLock(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// Every lock object, oldest first, with staleness judged as Acquire does. Damaged objects
// are listed with their path and the reason.
Result<std::vector<LockHolder>> ListLocks(storage::Storage& storage);

}  // namespace pgk::repo
