// The local spool of `wal-receive`: the segment being received, and finished files
// waiting to be archived. Private (directories 0700, files 0600).
//
//   <spool>/wal-receive.lock                     flock'ed by the running receiver (its pid inside)
//   <spool>/receive-<repo>/<segment>.partial     the segment being received, from its first byte
//   <spool>/receive-<repo>/ready/<wal name>      finished files (segments, timeline history files,
//                                                an ended timeline's <segment>.partial) to archive
// <repo> is a hash of the repository URL, as for wal-push's spool (spool.h).
//
// A file moves from the receive directory into ready/ by rename, after an fsync, so a
// crash leaves each byte in exactly one durable place, and restarting pushes what ready/
// holds before anything else.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "wal/segment.h"

namespace pgk::wal {

class ReceiveSpool {
 public:
  // Creates the directories and takes the lock. Refused, naming the holder's pid, when
  // another wal-receive holds it (the lock goes with its process, even on kill -9).
  // Temporary files a crashed receiver left in ready/ are removed.
  static Result<std::unique_ptr<ReceiveSpool>> Open(const std::filesystem::path& spool, const std::string& repo_url);
  ~ReceiveSpool();
  ReceiveSpool(const ReceiveSpool&) = delete;
  ReceiveSpool& operator=(const ReceiveSpool&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path ready_dir() const { return dir_ / "ready"; }
  std::filesystem::path PartialPath(const WalFile& segment) const { return dir_ / (segment.name + ".partial"); }

  // The unfinished segments (<segment>.partial) in the receive directory, oldest first.
  std::vector<WalFile> Partials(uint64_t segment_size) const;
  // Names of the files in ready/, in the order to archive them: timeline history files
  // first (a restore needs them to follow a timeline), then by timeline and segment.
  std::vector<std::string> Ready(uint64_t segment_size) const;

 private:
  ReceiveSpool(std::filesystem::path dir, int lock_fd) : dir_(std::move(dir)), lock_fd_(lock_fd) {}
  std::filesystem::path dir_;
  int lock_fd_ = -1;
};

// One segment being received into <segment>.partial. Writes go to their offset in the
// segment; an existing file is written over in place, never truncated: after a restart
// its bytes (fsynced, reported flushed in synchronous mode) are the only copy of WAL
// the server may count on until the same bytes arrive again.
class PartialSegment {
 public:
  static Result<std::unique_ptr<PartialSegment>> Open(const ReceiveSpool& spool, const WalFile& segment,
                                                      uint64_t segment_size);
  ~PartialSegment();
  PartialSegment(const PartialSegment&) = delete;
  PartialSegment& operator=(const PartialSegment&) = delete;

  const WalFile& segment() const { return segment_; }
  Status Write(uint64_t offset, std::string_view data);
  // fsync (only when something was written since the last one).
  Status Sync();
  // The segment is complete: fsync, and move it to ready/<segment>.
  Status Complete();
  // The timeline ended inside this segment: zero-fill it to the segment size (as the
  // server's own <segment>.partial is), fsync, and move it to ready/<segment>.partial.
  Status EndOfTimeline();

 private:
  PartialSegment(const ReceiveSpool& spool, WalFile segment, uint64_t segment_size, int fd)
      : spool_(spool), segment_(std::move(segment)), segment_size_(segment_size), fd_(fd) {}
  Status MoveToReady(const std::string& name);

  const ReceiveSpool& spool_;
  WalFile segment_;
  uint64_t segment_size_;
  int fd_ = -1;
  bool dirty_ = false;
};

}  // namespace pgk::wal
