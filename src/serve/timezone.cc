#include "serve/timezone.h"

#include <algorithm>
#include <cstdlib>

#include "common/fs.h"

namespace pgk::serve {

int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(static_cast<int64_t>(yoe) + era * 400 + (*m <= 2));
}

int Weekday(int64_t days) { return static_cast<int>(((days + 4) % 7 + 7) % 7); }

namespace {

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
unsigned DaysInMonth(int y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

int64_t BigEndian(const std::string& s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(s[pos + i]);
  if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

}  // namespace

// Parses the POSIX TZ footer of a TZif v2+ file (RFC 8536 section 3.3).
struct TzParser {
  const std::string& s;
  size_t i = 0;

  bool Name() {
    if (i < s.size() && s[i] == '<') {
      size_t end = s.find('>', i);
      if (end == std::string::npos) return false;
      i = end + 1;
      return true;
    }
    size_t start = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    return i - start >= 3;
  }
  // [+-]hh[:mm[:ss]] in seconds.
  bool Seconds(int32_t* out) {
    int sign = 1;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) sign = s[i++] == '-' ? -1 : 1;
    int32_t parts[3] = {0, 0, 0};
    for (int p = 0; p < 3; ++p) {
      if (p > 0) {
        if (i >= s.size() || s[i] != ':') break;
        ++i;
      }
      size_t start = i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) parts[p] = parts[p] * 10 + (s[i++] - '0');
      if (i == start) return false;
    }
    *out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    return true;
  }
  bool Number(int* out) {
    size_t start = i;
    *out = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) *out = *out * 10 + (s[i++] - '0');
    return i > start;
  }
  bool Date(TimeZone::When* w) {
    if (i < s.size() && s[i] == 'M') {
      ++i;
      w->kind = 'M';
      if (!Number(&w->month) || i >= s.size() || s[i++] != '.') return false;
      if (!Number(&w->week) || i >= s.size() || s[i++] != '.') return false;
      if (!Number(&w->day)) return false;
      if (w->month < 1 || w->month > 12 || w->week < 1 || w->week > 5 || w->day > 6) return false;
    } else if (i < s.size() && s[i] == 'J') {
      ++i;
      w->kind = 'J';
      if (!Number(&w->day) || w->day < 1 || w->day > 365) return false;
    } else {
      w->kind = 'D';
      if (!Number(&w->day) || w->day > 365) return false;
    }
    w->time = 7200;
    if (i < s.size() && s[i] == '/') {
      ++i;
      if (!Seconds(&w->time)) return false;
    }
    return true;
  }
  bool Parse(TimeZone* tz) {
    if (s.empty()) return true;
    int32_t std_west = 0;
    if (!Name() || !Seconds(&std_west)) return false;
    tz->has_rule_ = true;
    tz->std_offset_ = -std_west;
    if (i == s.size()) return true;
    if (!Name()) return false;
    tz->rule_has_dst_ = true;
    tz->dst_offset_ = tz->std_offset_ + 3600;
    if (i < s.size() && s[i] != ',') {
      int32_t dst_west = 0;
      if (!Seconds(&dst_west)) return false;
      tz->dst_offset_ = -dst_west;
    }
    if (i >= s.size() || s[i++] != ',') return false;
    if (!Date(&tz->dst_start_)) return false;
    if (i >= s.size() || s[i++] != ',') return false;
    if (!Date(&tz->dst_end_)) return false;
    return i == s.size();
  }
};

TimeZone TimeZone::Utc() { return TimeZone(); }

Result<TimeZone> TimeZone::Load(const std::string& name) {
  if (name.empty() || name == "UTC" || name == "Etc/UTC") return Utc();
  if (name.find("..") != std::string::npos || name.front() == '/') {
    return Status::Config("invalid time zone '" + name + "'", "use an IANA name such as Europe/Berlin or UTC");
  }
  const char* dir = std::getenv("TZDIR");
  std::string path = std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + name;
  auto bytes = fs::ReadFile(path);
  if (!bytes.ok()) {
    return Status::Config("unknown time zone '" + name + "' (no " + path + ")",
                          "use an IANA name such as Europe/Berlin or UTC (install the tzdata package)");
  }
  return Parse(name, *bytes);
}

Result<TimeZone> TimeZone::Parse(const std::string& name, const std::string& b) {
  auto bad = [&](const std::string& why) {
    return Status::Config("cannot read time zone '" + name + "': " + why, "reinstall the tzdata package");
  };
  if (b.size() < 44 || b.compare(0, 4, "TZif") != 0) return bad("not a TZif file");
  auto counts = [&](size_t at, int64_t c[6]) {
    for (int k = 0; k < 6; ++k) c[k] = BigEndian(b, at + 20 + 4 * k, 4);
  };
  int64_t c[6];
  counts(0, c);
  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  auto block_size = [&](const int64_t* n, int time_bytes) {
    return n[3] * time_bytes + n[3] + n[4] * 6 + n[5] + n[2] * (time_bytes + 4) + n[1] + n[0];
  };
  size_t pos = 44;
  int time_bytes = 4;
  if (b[4] >= '2') {
    pos += static_cast<size_t>(block_size(c, 4));
    if (b.size() < pos + 44 || b.compare(pos, 4, "TZif") != 0) return bad("truncated file");
    counts(pos, c);
    pos += 44;
    time_bytes = 8;
  }
  if (c[4] < 1 || b.size() < pos + static_cast<size_t>(block_size(c, time_bytes))) return bad("truncated file");
  TimeZone tz;
  tz.name_ = name;
  size_t times = pos, idx = times + c[3] * time_bytes, types = idx + c[3];
  auto type_offset = [&](int64_t t) -> Result<int32_t> {
    if (t < 0 || t >= c[4]) return bad("bad local time type");
    return static_cast<int32_t>(BigEndian(b, types + 6 * t, 4));
  };
  PGK_ASSIGN_OR_RETURN(tz.initial_offset_, type_offset(0));
  for (int64_t k = 0; k < c[3]; ++k) {
    int64_t at = BigEndian(b, times + k * time_bytes, time_bytes);
    PGK_ASSIGN_OR_RETURN(int32_t off, type_offset(static_cast<unsigned char>(b[idx + k])));
    tz.transitions_.push_back({at, off});
  }
  if (time_bytes == 8) {
    size_t footer = pos + static_cast<size_t>(block_size(c, 8));
    if (footer < b.size() && b[footer] == '\n') {
      size_t end = b.find('\n', footer + 1);
      std::string tzstr = b.substr(footer + 1, end == std::string::npos ? std::string::npos : end - footer - 1);
      TzParser p{tzstr};
      if (!p.Parse(&tz)) return bad("unsupported TZ rule '" + tzstr + "'");
    }
  }
  return tz;
}

std::pair<int64_t, int64_t> TimeZone::RuleTransitions(int year) const {
  auto local_day = [year](const When& w) -> int64_t {
    int64_t jan1 = DaysFromCivil(year, 1, 1);
    if (w.kind == 'J') return jan1 + w.day - 1 + (IsLeap(year) && w.day >= 60 ? 1 : 0);
    if (w.kind == 'D') return jan1 + w.day;
    int64_t first = DaysFromCivil(year, static_cast<unsigned>(w.month), 1);
    int64_t day = first + (w.day - Weekday(first) + 7) % 7 + (w.week - 1) * 7;
    while (day >= first + DaysInMonth(year, static_cast<unsigned>(w.month))) day -= 7;
    return day;
  };
  // The start is given in standard time, the end in daylight time.
  int64_t start = local_day(dst_start_) * 86400 + dst_start_.time - std_offset_;
  int64_t end = local_day(dst_end_) * 86400 + dst_end_.time - dst_offset_;
  return {start, end};
}

int32_t TimeZone::RuleOffsetAt(int64_t utc) const {
  if (!rule_has_dst_) return std_offset_;
  int y;
  unsigned m, d;
  int64_t local = utc + std_offset_;
  CivilFromDays(local >= 0 ? local / 86400 : -((-local + 86399) / 86400), &y, &m, &d);
  auto [start, end] = RuleTransitions(y);
  bool dst = start < end ? (utc >= start && utc < end) : (utc < end || utc >= start);
  return dst ? dst_offset_ : std_offset_;
}

int32_t TimeZone::OffsetAt(int64_t utc) const {
  if (transitions_.empty()) return has_rule_ ? RuleOffsetAt(utc) : initial_offset_;
  if (utc < transitions_.front().at) return initial_offset_;
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc,
                             [](int64_t t, const Transition& x) { return t < x.at; });
  if (it == transitions_.end() && has_rule_) return RuleOffsetAt(utc);
  return std::prev(it)->offset;
}

std::optional<int64_t> TimeZone::NextTransition(int64_t utc) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc,
                             [](int64_t t, const Transition& x) { return t < x.at; });
  // Fat files list transitions that change nothing (type changes); skip them.
  int32_t current = OffsetAt(utc);
  for (; it != transitions_.end(); ++it)
    if (it->offset != current) return it->at;
  if (!has_rule_ || !rule_has_dst_) return std::nullopt;
  int y;
  unsigned m, d;
  CivilFromDays(utc / 86400, &y, &m, &d);
  for (int year = y - 1; year <= y + 1; ++year) {
    auto [a, b] = RuleTransitions(year);
    int64_t first = std::min(a, b), second = std::max(a, b);
    if (first > utc && RuleOffsetAt(first) != current) return first;
    if (second > utc && RuleOffsetAt(second) != current) return second;
  }
  return std::nullopt;
}

}  // namespace pgk::serve
