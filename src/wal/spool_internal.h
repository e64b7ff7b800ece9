// Shared by the push and fetch halves of the spool (spool.h).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "common/status.h"

namespace pgk::wal::internal {

// <spool>/<kind>-<hash of the repository URL>/, created 0700 when missing.
Result<std::filesystem::path> SpoolSubdir(const std::filesystem::path& spool, const std::string& kind,
                                          const std::string& repo_url);

// Calls fn(i) for i in [0, n) on `jobs` threads (the calling thread included).
void RunParallel(size_t n, int jobs, const std::function<void(size_t)>& fn);

// SHA-256 (lowercase hex) of a local file.
Result<std::string> FileSha256(const std::filesystem::path& path);

}  // namespace pgk::wal::internal
