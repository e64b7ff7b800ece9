// Where `wal-receive` starts streaming, and where it goes after a timeline ends. Pure.
//
// Streaming always starts at a segment boundary: a segment is stored only as a whole
// file, byte-identical to the server's, so a segment is received from its first byte
// (as pg_receivewal does). A physical slot keeps the segment holding its restart_lsn, so
// restarting at the start of that segment is always possible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "wal/segment.h"

namespace pgk::wal {

struct StartInputs {
  uint64_t segment_size = kDefaultSegmentSize;
  uint32_t server_timeline = 0;  // IDENTIFY_SYSTEM
  uint64_t server_lsn = 0;       // IDENTIFY_SYSTEM's xlogpos: the server's flush position
  // The newest segment the spool holds unfinished (<segment>.partial).
  std::optional<WalFile> spool_partial;
  // The newest segment in the archive on a timeline not above the server's.
  std::optional<WalFile> archive_newest;
  // The slot's restart position (READ_REPLICATION_SLOT); nullopt for no slot or an
  // unreserved one.
  std::optional<uint64_t> slot_restart_lsn;
  std::optional<uint32_t> slot_restart_timeline;
};

struct StartPoint {
  uint32_t timeline = 0;
  uint64_t lsn = 0;    // a segment boundary
  std::string source;  // "spool", "archive", "slot" or "server", for the log
  bool operator==(const StartPoint&) const = default;
};

// In order: the later of the spool's unfinished segment (resume it) and the segment after
// the archive's newest (what is archived needs no receiving again), preferring the higher
// timeline; else the slot's restart position; else the server's current position. A
// spool or archive position beyond the server's (a server restored to an earlier point
// without a new timeline) is ignored rather than waited for.
StartPoint ChooseStart(const StartInputs& in);

}  // namespace pgk::wal
