// Pure views over an archive listing: runs, gaps, what a backup still lacks, and what
// retention may remove; plus the one polling loop physical backups wait in.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "wal/archive.h"

namespace pgk::wal {

ArchiveSummary Summarize(const std::vector<StoredWal>& files) {
  ArchiveSummary s;
  std::map<uint32_t, std::set<uint64_t>> segments;  // timeline -> segment numbers
  std::set<uint32_t> histories;
  for (const auto& f : files) {
    switch (f.file.kind) {
      case WalFileKind::kSegment:
        segments[f.file.timeline].insert(f.file.segno);
        if (!s.newest ||
            std::pair(f.file.timeline, f.file.segno) > std::pair(s.newest->file.timeline, s.newest->file.segno)) {
          s.newest = f;
        }
        break;
      case WalFileKind::kPartial:
        ++s.partials;
        break;
      case WalFileKind::kBackupHistory:
        ++s.backup_histories;
        break;
      case WalFileKind::kTimelineHistory:
        histories.insert(f.file.timeline);
        break;
    }
  }
  s.history_timelines.assign(histories.begin(), histories.end());
  for (const auto& [tli, segnos] : segments) {
    s.segments += segnos.size();
    std::optional<SegmentRange> run;
    for (uint64_t n : segnos) {
      if (run && n == run->last + 1) {
        run->last = n;
        continue;
      }
      if (run) {
        s.runs.push_back(*run);
        s.gaps.push_back({tli, run->last + 1, n - 1});
      }
      run = SegmentRange{tli, n, n};
    }
    if (run) s.runs.push_back(*run);
  }
  return s;
}

std::vector<std::string> MissingSegments(const std::vector<StoredWal>& files, uint32_t timeline, uint64_t start_lsn,
                                         uint64_t stop_lsn, uint64_t segment_size) {
  std::set<uint64_t> have;
  for (const auto& f : files) {
    if (f.file.kind == WalFileKind::kSegment && f.file.timeline == timeline) have.insert(f.file.segno);
  }
  std::vector<std::string> missing;
  uint64_t first = SegmentOf(start_lsn, segment_size);
  uint64_t last = std::max(first, SegmentBefore(stop_lsn, segment_size));
  for (uint64_t n = first; n <= last; ++n) {
    if (!have.count(n)) missing.push_back(SegmentFileName(timeline, n, segment_size));
  }
  return missing;
}

Status WaitForArchived(const Archive& archive, uint32_t timeline, uint64_t start_lsn, uint64_t stop_lsn,
                       int timeout_s) {
  uint64_t seg = archive.segment_size();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  auto pause = std::chrono::milliseconds(100);
  while (true) {
    // List only the directories the range covers, not the whole archive.
    std::set<std::string> dirs;
    uint64_t last = std::max(SegmentOf(start_lsn, seg), SegmentBefore(stop_lsn, seg));
    for (uint64_t n = SegmentOf(start_lsn, seg); n <= last; ++n) {
      dirs.insert(WalDir(WalFile{.timeline = timeline, .segno = n, .name = SegmentFileName(timeline, n, seg)}));
    }
    std::vector<StoredWal> files;
    for (const auto& d : dirs) {
      PGK_ASSIGN_OR_RETURN(auto list, archive.repository().storage().List(d));
      for (const auto& fi : list) {
        auto s = ParseStoredPath(fi.path, seg);
        if (s.ok()) files.push_back(std::move(s).value());
      }
    }
    auto missing = MissingSegments(files, timeline, start_lsn, stop_lsn, seg);
    if (missing.empty()) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Timeout("WAL segment " + missing.front() + " (" + std::to_string(missing.size()) +
                                 " missing) did not reach the archive within " + std::to_string(timeout_s) + " s",
                             "check archive_command and pg_stat_archiver (`pgkeeper wal status`)");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(1000));
  }
}

WalExpirePlan PlanWalExpire(const std::vector<StoredWal>& files, const std::vector<BackupWal>& retained,
                            uint64_t segment_size) {
  WalExpirePlan plan;
  if (retained.empty()) {
    plan.keep = files.size();
    plan.reason = "no physical backup yet: keeping all WAL";
    return plan;
  }
  auto oldest = std::min_element(retained.begin(), retained.end(),
                                 [](const BackupWal& a, const BackupWal& b) { return a.start_lsn < b.start_lsn; });
  uint64_t keep_from = SegmentOf(oldest->start_lsn, segment_size);
  for (const auto& f : files) {
    // History files are tiny and every later timeline's recovery reads its ancestors'.
    bool old = f.file.kind != WalFileKind::kTimelineHistory && f.file.segno < keep_from;
    if (old) {
      plan.remove.push_back(f);
    } else {
      ++plan.keep;
    }
  }
  plan.reason = "keeping WAL from " + SegmentFileName(oldest->timeline, keep_from, segment_size) +
                " on, the start of the oldest retained backup " + oldest->backup_id;
  return plan;
}

}  // namespace pgk::wal
