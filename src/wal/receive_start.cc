#include "wal/receive_start.h"

#include <tuple>
#include <vector>

namespace pgk::wal {

StartPoint ChooseStart(const StartInputs& in) {
  const uint64_t seg = in.segment_size;
  auto boundary = [&](uint64_t lsn) { return SegmentStartLsn(SegmentOf(lsn, seg), seg); };
  std::vector<StartPoint> found;
  auto usable = [&](uint32_t tli, uint64_t lsn) {
    return tli != 0 && tli <= in.server_timeline && lsn <= in.server_lsn;
  };
  if (in.spool_partial) {
    StartPoint p{in.spool_partial->timeline, SegmentStartLsn(in.spool_partial->segno, seg), "spool"};
    if (usable(p.timeline, p.lsn)) found.push_back(p);
  }
  if (in.archive_newest) {
    StartPoint p{in.archive_newest->timeline, SegmentStartLsn(in.archive_newest->segno + 1, seg), "archive"};
    if (usable(p.timeline, p.lsn)) found.push_back(p);
  }
  if (!found.empty()) {
    // A later timeline wins even at a lower LSN: the earlier one's WAL past the fork is not
    // this server's history any more. Ties go to the spool (listed first), which resumes a
    // file instead of starting a new one.
    StartPoint best = found[0];
    for (const auto& p : found) {
      if (std::tie(p.timeline, p.lsn) > std::tie(best.timeline, best.lsn)) best = p;
    }
    return best;
  }
  if (in.slot_restart_lsn && *in.slot_restart_lsn != 0) {
    return {in.slot_restart_timeline.value_or(in.server_timeline), boundary(*in.slot_restart_lsn), "slot"};
  }
  return {in.server_timeline, boundary(in.server_lsn), "server"};
}

}  // namespace pgk::wal
