// The workload invariant, checked in SQL over the whole database:
//   1. every position's number of position_events equals its state_version;
//   2. its events form a chain: seq 1..n, the first from `pending`, each from_state equal
//      to the previous to_state, the last to_state equal to the position's state;
//   3. ledger_events match position_events one to one (same position, same states).
// After a restore this proves that no committed state change was lost or half-applied.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"

namespace pgk::workload {

struct InvariantReport {
  int64_t positions = 0;
  int64_t position_events = 0;
  int64_t ledger_events = 0;
  int64_t count_mismatches = 0;    // rule 1
  int64_t broken_chains = 0;       // rule 2
  int64_t unmatched_ledger = 0;    // rule 3, ledger side
  int64_t unmatched_events = 0;    // rule 3, position_events side
  std::vector<std::string> examples;  // a few offending position ids, for the message
  bool holds() const {
    return count_mismatches == 0 && broken_chains == 0 && unmatched_ledger == 0 && unmatched_events == 0;
  }
};

Result<InvariantReport> VerifyInvariant(pg::Connection& conn);

}  // namespace pgk::workload
