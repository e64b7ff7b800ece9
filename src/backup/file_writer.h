// Writing one file of a backup: storage writer + pipeline + manifest entry.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "pipeline/pipeline.h"
#include "repo/manifest.h"
#include "repo/repository.h"

namespace pgk::backup {

struct FileSpec {
  std::string backup_id;
  std::string name;  // inside the backup directory, e.g. "data/0001.copy"
  std::string kind;
  std::string table;
  pipeline::Compression compression = pipeline::Compression::kZstd;
  int compression_level = 0;
  int compression_threads = 0;  // zstd worker threads for this file (0: compress in the calling thread)
  const pipeline::Key* data_key = nullptr;
};

// Runs `produce` with the pipeline's sink, then closes the file and fills `entry`
// (sizes, digests, layers). On error the file is aborted: nothing is left visible.
Status WriteBackupFile(repo::Repository& repository, const FileSpec& spec,
                       const std::function<Status(pipeline::Sink&)>& produce, repo::ManifestFile* entry);

}  // namespace pgk::backup
