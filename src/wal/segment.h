// WAL file names and LSN arithmetic, as PostgreSQL defines them (xlog_internal.h). Pure.
//
//   segment         TTTTTTTTXXXXXXXXYYYYYYYY  timeline, then the segment number split in
//                                             "log" X = segno / N and "seg" Y = segno % N,
//                                             N = 0x100000000 / wal_segment_size
//   partial         <segment>.partial          the last, incomplete segment of a timeline
//                                             that a promotion left behind
//   backup history  <segment>.OOOOOOOO.backup  written by pg_backup_stop; O = offset in segment
//   timeline        TTTTTTTT.history           the history of timeline T (T >= 2)
//
// wal_segment_size is a power of two from 1 MiB to 1 GiB (16 MiB by default); read it
// from the server or pg_control, never assume it: Y's range depends on it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pgk::wal {

inline constexpr uint64_t kDefaultSegmentSize = uint64_t{16} << 20;

enum class WalFileKind { kSegment, kPartial, kBackupHistory, kTimelineHistory };

struct WalFile {
  WalFileKind kind = WalFileKind::kSegment;
  uint32_t timeline = 0;
  uint64_t segno = 0;   // not meaningful for kTimelineHistory
  uint32_t offset = 0;  // kBackupHistory: start offset inside the segment
  std::string name;     // as PostgreSQL names it (what %f is)
  bool operator==(const WalFile&) const = default;
};

// True for 1 MiB .. 1 GiB powers of two.
bool ValidSegmentSize(uint64_t segment_size);

// Parses a WAL file name of any kind. InvalidArgument for anything else, or (segments)
// a "seg" part out of range for `segment_size`.
Result<WalFile> ParseWalFileName(std::string_view name, uint64_t segment_size);

// "000000010000000000000003"
std::string SegmentFileName(uint32_t timeline, uint64_t segno, uint64_t segment_size);
// "00000002.history"
std::string HistoryFileName(uint32_t timeline);

// The segment holding byte `lsn` (XLByteToSeg), and the first LSN of a segment.
uint64_t SegmentOf(uint64_t lsn, uint64_t segment_size);
uint64_t SegmentStartLsn(uint64_t segno, uint64_t segment_size);
// The segment holding the byte just before `lsn` (XLByteToPrevSeg): where a record that
// ends exactly at a segment boundary lives. For a backup's stop LSN.
uint64_t SegmentBefore(uint64_t lsn, uint64_t segment_size);

// "16/B374D848" <-> 0x16B374D848. InvalidArgument for a malformed LSN.
Result<uint64_t> ParseLsn(std::string_view text);
std::string FormatLsn(uint64_t lsn);

// One line of a timeline history file ("1\t0/3000000\tno recovery target specified"):
// the parent timeline and the LSN at which the child branched off it.
struct TimelineSwitch {
  uint32_t parent_timeline = 0;
  uint64_t switch_lsn = 0;
  std::string reason;
  bool operator==(const TimelineSwitch&) const = default;
};
// The switches of a history file, oldest first; comments and blank lines are skipped.
// Malformed for a line that is neither.
Result<std::vector<TimelineSwitch>> ParseTimelineHistory(std::string_view text);

}  // namespace pgk::wal
