// Reading stored backup files back through the verifying pipeline, without keeping them:
// both SHA-256 digests, both sizes, and (encrypted backups) every chunk's authentication.
// Used by `verify` and by `restore` before it touches the target server.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "pipeline/key.h"
#include "repo/manifest.h"
#include "repo/repository.h"

namespace pgk::restore {

struct FileVerdict {
  const repo::ManifestFile* file = nullptr;  // points into the manifest given to VerifyFiles
  Status status;                             // OK, or why the file cannot be trusted
};

// Checks `files` (all of `m`'s files when empty) on `jobs` threads, largest first. Every
// file is checked even after a failure, so that the caller can report all bad files.
// The verdicts come back in the manifest's order.
std::vector<FileVerdict> VerifyFiles(repo::Repository& repo, const repo::Manifest& m, const pipeline::Key* data_key,
                                     const std::vector<const repo::ManifestFile*>& files, int jobs);

// The first failure of `verdicts`, with "N of M files failed verification" in its hint
// when more than one failed; OK when every file is good.
Status FirstFailure(const std::vector<FileVerdict>& verdicts);

}  // namespace pgk::restore
