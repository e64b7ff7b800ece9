// Differential and incremental physical backups: which earlier backup a new one is
// compared with, and, file by file, whether the earlier copy can be referenced instead of
// copying again. Pure logic over manifests (pgBackRest's rules):
//   - a file whose size and modification time are those recorded is unchanged, provided
//     the recorded time was safely before the earlier backup started (1 s margin, by the
//     database clock): a file written while it was being copied could keep its time;
//   - a file with the same size and time that is not safely old is compared by SHA-256;
//   - anything else is copied. Files with page errors are always copied (checked again).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "repo/manifest.h"

namespace pgk::physical {

// Requested mode: "full", "diff" (compared with the newest full backup) or "incr" (with
// the newest physical backup of any mode). Only backups of the same cluster (system
// identifier) and PostgreSQL major version qualify; without one, the backup is full.
struct ReferenceChoice {
  std::string mode;                      // what the backup will be
  std::optional<repo::Manifest> prior;   // what it is compared with (diff/incr)
  std::string note;                      // why a diff/incr became full, for the user
};
ReferenceChoice ChooseReference(const std::vector<repo::Manifest>& backups, const std::string& requested_mode,
                                const std::string& system_identifier, int version_num);

enum class Reuse { kCopy, kReference, kCompare };

inline constexpr int64_t kMtimeSafetyMarginNs = 1000000000;

// `prior_start_us`: database clock when the prior backup started copying.
Reuse DecideReuse(const repo::ManifestFile& prior, int64_t prior_start_us, uint64_t size, int64_t mtime_ns);

// The backup that stores `f` of `prior` (prior itself, or the one prior references).
std::string StoredIn(const repo::Manifest& prior, const repo::ManifestFile& f);

}  // namespace pgk::physical
