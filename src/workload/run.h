// The workload generator: moves positions through their states the way the application
// does, at a target rate for a duration, on several connections. New positions are
// opened as old ones reach terminal states, so the workload can run indefinitely.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"

namespace pgk::workload {

struct RunOptions {
  std::string conninfo;
  double rate = 200;        // state changes per second, all clients together (0: as fast as possible)
  double duration_s = 10;   // 0: until stop is set
  int clients = 2;
  uint64_t random_seed = 0;  // 0: from the clock
  const std::atomic<bool>* stop = nullptr;
};

struct RunStats {
  int64_t state_changes = 0;  // committed state-change transactions
  int64_t positions_opened = 0;
  int64_t retries = 0;        // lost races and serialization conflicts, retried
  double elapsed_s = 0;
};

Result<RunStats> Run(const RunOptions& options);

}  // namespace pgk::workload
