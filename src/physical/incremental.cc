#include "physical/incremental.h"

namespace pgk::physical {

ReferenceChoice ChooseReference(const std::vector<repo::Manifest>& backups, const std::string& requested_mode,
                                const std::string& system_identifier, int version_num) {
  ReferenceChoice c;
  c.mode = requested_mode;
  if (requested_mode == "full") return c;
  for (auto it = backups.rbegin(); it != backups.rend(); ++it) {
    if (it->type != "physical" || !it->physical) continue;
    const auto& p = *it->physical;
    if (p.system_identifier != system_identifier || p.pg_version_num / 10000 != version_num / 10000) continue;
    if (requested_mode == "diff" && p.mode != "full") continue;
    c.prior = *it;
    return c;
  }
  c.mode = "full";
  c.note = "no earlier full backup of this cluster in the repository: taking a full backup";
  return c;
}

Reuse DecideReuse(const repo::ManifestFile& prior, int64_t prior_start_us, uint64_t size, int64_t mtime_ns) {
  if (prior.original_size != size || !prior.page_errors.empty()) return Reuse::kCopy;
  if (prior.mtime_ns != mtime_ns) return Reuse::kCopy;
  if (prior.mtime_ns < prior_start_us * 1000 - kMtimeSafetyMarginNs) return Reuse::kReference;
  return Reuse::kCompare;
}

std::string StoredIn(const repo::Manifest& prior, const repo::ManifestFile& f) {
  return f.reference.empty() ? prior.id : f.reference;
}

}  // namespace pgk::physical
