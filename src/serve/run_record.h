// Run records: one small JSON object per job run, in the repository, so that the history
// survives restarts and hosts, and works on any storage (docs/repository-format.md):
//
//   serve/runs/<job>/<YYYYMMDDTHHMMSSZ>.json     (the run's start, UTC)
//
// Each record carries its job's running totals (failures, last success) forward, so
// serve reads one record per job at start-up however long the history, and the listing
// stays bounded: the oldest records beyond keep_runs are removed after each write.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/storage.h"

namespace pgk::serve {

inline constexpr int kRunRecordFormat = 1;

struct RunRecord {
  std::string job, command;
  std::vector<std::string> args;
  int64_t scheduled = 0;  // the fire time the run was for (UTC seconds)
  bool missed = false;    // a catch-up run after downtime
  double start = 0, end = 0;
  int exit_code = 0;
  bool ok = false;
  bool interrupted = false;  // stopped by serve's shutdown
  std::string error;         // the command's error message (masked), "" when ok
  std::string backup_id;     // backup jobs: the new backup
  std::string host;
  // Running totals, carried forward from the job's previous record.
  int64_t failures_total = 0;
  int64_t consecutive_failures = 0;
  std::optional<double> last_success;

  double duration() const { return end - start; }
  nlohmann::json ToJson() const;
  static Result<RunRecord> FromJson(const nlohmann::json& j);
};

// "serve/runs/<job>/".
std::string RunPrefix(const std::string& job);

// Writes the record atomically and removes the job's oldest records beyond `keep`.
// Returns the path written.
Result<std::string> StoreRunRecord(storage::Storage& storage, const RunRecord& r, int keep);

// The newest record of each job that has one (damaged records are skipped, reported
// through `problems`).
Result<std::map<std::string, RunRecord>> LatestRunRecords(storage::Storage& storage,
                                                          const std::vector<std::string>& jobs,
                                                          std::vector<std::string>* problems);

// "20260329T010203Z".
std::string CompactTime(int64_t epoch_s);
std::string IsoTime(double epoch_s);

}  // namespace pgk::serve
