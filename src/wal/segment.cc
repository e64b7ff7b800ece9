#include "wal/segment.h"

#include <charconv>
#include <cinttypes>
#include <cstdio>

namespace pgk::wal {

namespace {

constexpr uint64_t kLogIdBytes = uint64_t{1} << 32;

bool ParseHex(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  for (char c : text) {
    // Upper case only: PostgreSQL writes upper-case names, and one spelling per file keeps
    // lookups exact.
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  }
  auto r = std::from_chars(text.data(), text.data() + text.size(), *out, 16);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

Status BadName(std::string_view name) {
  return Status::InvalidArgument("'" + std::string(name) + "' is not a WAL file name",
                                 "expected a segment (24 hex digits), <segment>.partial, "
                                 "<segment>.XXXXXXXX.backup or XXXXXXXX.history");
}

}  // namespace

bool ValidSegmentSize(uint64_t size) {
  return size >= (uint64_t{1} << 20) && size <= (uint64_t{1} << 30) && (size & (size - 1)) == 0;
}

Result<WalFile> ParseWalFileName(std::string_view name, uint64_t segment_size) {
  if (!ValidSegmentSize(segment_size)) {
    return Status::InvalidArgument("invalid WAL segment size " + std::to_string(segment_size));
  }
  WalFile f;
  f.name = std::string(name);
  uint64_t tli = 0;
  if (name.size() == 16 && name.substr(8) == ".history") {
    if (!ParseHex(name.substr(0, 8), &tli)) return BadName(name);
    f.kind = WalFileKind::kTimelineHistory;
    f.timeline = static_cast<uint32_t>(tli);
    return f;
  }
  if (name.size() < 24) return BadName(name);
  std::string_view rest = name.substr(24);
  uint64_t offset = 0;
  if (rest.empty()) {
    f.kind = WalFileKind::kSegment;
  } else if (rest == ".partial") {
    f.kind = WalFileKind::kPartial;
  } else if (rest.size() == 16 && rest[0] == '.' && rest.substr(9) == ".backup" &&
             ParseHex(rest.substr(1, 8), &offset)) {
    f.kind = WalFileKind::kBackupHistory;
    f.offset = static_cast<uint32_t>(offset);
  } else {
    return BadName(name);
  }
  uint64_t log = 0, seg = 0;
  if (!ParseHex(name.substr(0, 8), &tli) || !ParseHex(name.substr(8, 8), &log) || !ParseHex(name.substr(16, 8), &seg)) {
    return BadName(name);
  }
  uint64_t per_log = kLogIdBytes / segment_size;
  if (seg >= per_log) {
    return Status::InvalidArgument(
        "'" + std::string(name) + "' does not exist with " + std::to_string(segment_size >> 20) + " MB segments",
        "check wal_segment_size");
  }
  f.timeline = static_cast<uint32_t>(tli);
  f.segno = log * per_log + seg;
  return f;
}

std::string SegmentFileName(uint32_t timeline, uint64_t segno, uint64_t segment_size) {
  uint64_t per_log = kLogIdBytes / segment_size;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08X%08X%08X", timeline, static_cast<uint32_t>(segno / per_log),
                static_cast<uint32_t>(segno % per_log));
  return buf;
}

std::string HistoryFileName(uint32_t timeline) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08X.history", timeline);
  return buf;
}

uint64_t SegmentOf(uint64_t lsn, uint64_t segment_size) { return lsn / segment_size; }
uint64_t SegmentStartLsn(uint64_t segno, uint64_t segment_size) { return segno * segment_size; }
uint64_t SegmentBefore(uint64_t lsn, uint64_t segment_size) { return lsn == 0 ? 0 : (lsn - 1) / segment_size; }

Result<uint64_t> ParseLsn(std::string_view text) {
  auto slash = text.find('/');
  uint64_t hi = 0, lo = 0;
  auto hex = [](std::string_view s, uint64_t* out) {
    if (s.empty() || s.size() > 8) return false;
    auto r = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
  };
  if (slash == std::string_view::npos || !hex(text.substr(0, slash), &hi) || !hex(text.substr(slash + 1), &lo)) {
    return Status::InvalidArgument("'" + std::string(text) + "' is not an LSN",
                                   "write it as PostgreSQL does, e.g. 0/3000028");
  }
  return (hi << 32) | lo;
}

std::string FormatLsn(uint64_t lsn) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<uint32_t>(lsn >> 32), static_cast<uint32_t>(lsn));
  return buf;
}

Result<std::vector<TimelineSwitch>> ParseTimelineHistory(std::string_view text) {
  std::vector<TimelineSwitch> out;
  size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&] {
      return Status::Malformed("line " + std::to_string(line_no) + " of a timeline history file is malformed: '" +
                               std::string(line) + "'");
    };
    auto t1 = line.find('\t');
    if (t1 == std::string_view::npos) return bad();
    TimelineSwitch s;
    auto r = std::from_chars(line.data(), line.data() + t1, s.parent_timeline);
    if (r.ec != std::errc() || r.ptr != line.data() + t1) return bad();
    std::string_view rest = line.substr(t1 + 1);
    auto t2 = rest.find('\t');
    auto lsn = ParseLsn(rest.substr(0, t2));
    if (!lsn.ok()) return bad();
    s.switch_lsn = *lsn;
    if (t2 != std::string_view::npos) s.reason = std::string(rest.substr(t2 + 1));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace pgk::wal
