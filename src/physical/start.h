// `restore --start`: runs recovery on a restored data directory, watches it reach the
// target, promotes, and leaves the server running with its own configuration.
//
// Recovery runs first on a private server instance: no TCP listener, a Unix socket in a
// private directory and a temporary pg_hba.conf that trusts only that socket, so pgkeeper
// can ask the server where recovery stands without knowing any password, and nobody else
// can connect to a half-recovered cluster. recovery_target_action is forced to pause
// there, so the point reached is read before promoting. That instance is then stopped
// and the server started again as configured (detached, logging to <pgdata>/log/).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "physical/recovery.h"
#include "physical/restore_fs.h"

namespace pgk::physical {

struct StartOptions {
  std::string pgdata;
  RecoveryTarget target;
  std::string superuser;   // the cluster's bootstrap superuser (from the manifest)
  int pg_major = 15;
  Owner owner;             // the server runs as this user (as root)
  int port = 0;            // 0: the configuration's
  int timeout_s = 0;       // recovery time limit; 0: none (a stalled server is still noticed when it exits)
};

struct StartReport {
  std::string reached_lsn;   // last replayed WAL position
  std::string reached_time;  // commit time of the last replayed transaction ("" if none)
  uint32_t timeline = 0;     // the timeline the server runs on afterwards
  bool promoted = false;
  bool running = false;      // false with --target-action shutdown
  pid_t pid = 0;
  int port = 0;
  std::string log;           // the server's log file
};

Result<StartReport> StartAndRecover(const StartOptions& options, const std::function<void(const std::string&)>& progress);

}  // namespace pgk::physical
