// Reading one data directory file for a physical backup: streamed into the pipeline in
// large chunks, with the pages of relation files checked as they pass (see page_checksum.h).
// A page that fails its check is read again once: the server may have been writing it
// (a torn read); only a page that fails twice is reported.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "pipeline/sink.h"

namespace pgk::physical {

struct PageCheck {
  bool enabled = false;          // the cluster has data checksums and this is a relation file
  size_t block_size = 8192;
  uint32_t segment_blocks = 131072;
  uint32_t segment_no = 0;       // the file's ".N" suffix
  uint64_t backup_start_lsn = 0;
};

struct CopyResult {
  uint64_t bytes = 0;
  std::vector<uint32_t> page_errors;  // block numbers within the file
};

// An open source file; closed on destruction.
class SourceFile {
 public:
  // nullopt when the file no longer exists (dropped since the listing: WAL replay agrees).
  static Result<std::optional<SourceFile>> Open(const std::string& path);
  SourceFile(SourceFile&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  SourceFile& operator=(SourceFile&&) = delete;
  ~SourceFile();

  // Both read from the start of the file.
  // Streams the whole file into `sink` (without Finish), checking pages per `check`.
  Status CopyTo(pipeline::Sink& sink, const PageCheck& check, CopyResult* result);
  // SHA-256 (lowercase hex) and size of the whole file, for comparing with a prior backup.
  Result<std::pair<std::string, uint64_t>> Hash();

 private:
  SourceFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status Rewind();
  int fd_ = -1;
  std::string path_;
};

}  // namespace pgk::physical
