// Archives what wal-receive's spool has finished (ready/), on a thread of its own, so
// that a slow or unreachable repository never stalls the replication stream: the WAL
// waits in the spool (and, through the slot, on the server) until it is stored.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "common/status.h"
#include "repo/repository.h"
#include "wal/archive.h"
#include "wal/receive_spool.h"

namespace pgk::wal {

class SpoolPusher {
 public:
  // `cluster` identifies the server streamed from; it creates the archive when the
  // repository has none yet. The pusher thread starts at once.
  SpoolPusher(repo::Repository& repo, const ReceiveSpool& spool, const ClusterIdentity& cluster,
              const PushOptions& options);
  ~SpoolPusher();  // Stop()
  SpoolPusher(const SpoolPusher&) = delete;
  SpoolPusher& operator=(const SpoolPusher&) = delete;

  // Something new is in ready/.
  void Wake();
  // Lets the file in hand finish, then ends the thread; what is left stays in ready/.
  void Stop();
  // A problem retrying cannot solve (a different copy of a segment already archived):
  // the receiver stops on it. OK otherwise.
  Status fatal() const;
  // Files archived so far: the receiver reports its flush position again when it grows.
  uint64_t archived() const { return archived_.load(); }

 private:
  void Loop();
  // One pass over ready/: true when it emptied it, false after a failure (retried later).
  bool PushReady();
  Status PushOne(const std::string& name);
  Result<const Archive*> GetArchive(const std::filesystem::path& first_file);

  repo::Repository& repo_;
  const ReceiveSpool& spool_;
  ClusterIdentity cluster_;
  PushOptions options_;
  std::unique_ptr<Archive> archive_;  // opened (or created) on the first push

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;       // REQUIRES: mu_
  bool pending_ = true;     // REQUIRES: mu_; ready/ may hold files
  Status fatal_;            // REQUIRES: mu_
  std::string last_error_;  // only the pusher thread: each failure is logged once, not per retry
  std::atomic<uint64_t> archived_{0};
  std::thread thread_;
};

}  // namespace pgk::wal
