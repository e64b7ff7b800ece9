// Opening the repository a restore, verify or listing reads, from flags and config.
#pragma once

#include <memory>
#include <string>

#include "common/config.h"
#include "common/status.h"
#include "repo/repository.h"

namespace pgk::restore {

// The repository at `url` (else config repository.url) with the key from
// PGKEEPER_ENCRYPTION_KEY, `key_file` or config repository.key_file. Never creates one.
// InvalidArgument when no URL is given anywhere. `metadata_only`: an encrypted repository
// opens without its key (listing manifests; see repo::OpenOptions).
Result<std::unique_ptr<repo::Repository>> OpenRepositoryForReading(const std::string& url, const std::string& key_file,
                                                                   const Config& config, bool metadata_only = false);

}  // namespace pgk::restore
