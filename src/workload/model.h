// The example application's domain rules, shared by seeding, the workload and the
// invariant check. A position starts `pending`; each state change is one transaction that
// updates the position (state, state_version + 1) and inserts exactly one position_event
// (metadata.seq = the new state_version) and one ledger_event (payload.position_event_id).
#pragma once

#include <random>
#include <string>
#include <vector>

namespace pgk::workload {

inline constexpr const char* kInitialState = "pending";

// Allowed next states; empty for terminal states.
const std::vector<std::string>& NextStates(const std::string& state);
bool IsTerminal(const std::string& state);

// "pos_3f9a..." style ids: a prefix and 20 random hex digits.
std::string NewId(const std::string& prefix, std::mt19937_64& rng);

}  // namespace pgk::workload
