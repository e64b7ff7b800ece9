// Fills the example application's tables with realistic, internally consistent data
// through COPY (fast enough for a demo: ~50k rows per second per table on a laptop).
#pragma once

#include <cstdint>

#include "common/status.h"
#include "pg/connection.h"

namespace pgk::workload {

struct SeedOptions {
  int institutions = 12;
  int positions = 5000;
  uint64_t random_seed = 20261121;
};

struct SeedStats {
  int64_t institutions = 0;
  int64_t templates = 0;
  int64_t assets = 0;
  int64_t positions = 0;
  int64_t events = 0;  // position_events (= ledger_events)
  int64_t api_keys = 0;
  int64_t audit_events = 0;
  int64_t policies = 0;
  int64_t total_rows() const {
    return institutions + templates + assets + positions + 2 * events + api_keys + audit_events + policies;
  }
};

// Runs in one transaction: either all seed data is there or none.
Result<SeedStats> Seed(pg::Connection& conn, const SeedOptions& options);

}  // namespace pgk::workload
