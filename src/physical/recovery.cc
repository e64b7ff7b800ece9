#include "physical/recovery.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sstream>

#include "wal/segment.h"

namespace pgk::physical {

namespace {

bool Digits(const std::string& s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

int Num(const std::string& s, size_t pos, size_t n) { return std::atoi(s.substr(pos, n).c_str()); }

std::string Quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b);
}

}  // namespace

Result<int64_t> ParseTimestamp(const std::string& text) {
  const std::string& s = text;
  auto bad = [&] {
    return Status::InvalidArgument("'" + text + "' is not a timestamp",
                                   "write it as YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]|Z], e.g. 2026-01-02 03:04:05+00");
  };
  if (!Digits(s, 0, 4) || s[4] != '-' || !Digits(s, 5, 2) || s[7] != '-' || !Digits(s, 8, 2) ||
      (s[10] != ' ' && s[10] != 'T') || !Digits(s, 11, 2) || s[13] != ':' || !Digits(s, 14, 2) || s[16] != ':' ||
      !Digits(s, 17, 2)) {
    return bad();
  }
  struct tm tm {};
  tm.tm_year = Num(s, 0, 4) - 1900;
  tm.tm_mon = Num(s, 5, 2) - 1;
  tm.tm_mday = Num(s, 8, 2);
  tm.tm_hour = Num(s, 11, 2);
  tm.tm_min = Num(s, 14, 2);
  tm.tm_sec = Num(s, 17, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    return bad();
  }
  int64_t us = static_cast<int64_t>(timegm(&tm)) * 1000000;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t frac = 0, scale = 100000;
    size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (scale > 0) frac += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
    us += frac;
  }
  while (pos < s.size() && s[pos] == ' ') ++pos;
  std::string tz = s.substr(pos);
  if (tz.empty() || tz == "Z" || tz == "UTC" || tz == "+00" || tz == "+00:00" || tz == "+0000") return us;
  if ((tz[0] != '+' && tz[0] != '-') || !Digits(tz, 1, 2)) return bad();
  int minutes = Num(tz, 1, 2) * 60;
  if (tz.size() == 6 && tz[3] == ':' && Digits(tz, 4, 2)) {
    minutes += Num(tz, 4, 2);
  } else if (tz.size() == 5 && Digits(tz, 3, 2)) {
    minutes += Num(tz, 3, 2);
  } else if (tz.size() != 3) {
    return bad();
  }
  // Local time = UTC + offset.
  return us - (tz[0] == '+' ? 1 : -1) * static_cast<int64_t>(minutes) * 60 * 1000000;
}

std::string FormatTimestampUtc(int64_t us) {
  int64_t secs = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
  int64_t frac = us - secs * 1000000;
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
  return buf;
}

Result<RecoveryTarget> ParseTarget(const TargetFlags& f) {
  RecoveryTarget t;
  int given = !f.time.empty() + !f.xid.empty() + !f.lsn.empty() + !f.name.empty() + f.immediate;
  if (given > 1) {
    return Status::InvalidArgument("give at most one of --target-time, --target-xid, --target-lsn, --target-name and "
                                   "--immediate");
  }
  if (!f.time.empty()) {
    t.kind = RecoveryTarget::Kind::kTime;
    auto time_us = ParseTimestamp(f.time);
    if (!time_us.ok()) return time_us.status().WithContext("--target-time");
    t.time_us = *time_us;
    t.value = FormatTimestampUtc(t.time_us);
  } else if (!f.xid.empty()) {
    t.kind = RecoveryTarget::Kind::kXid;
    char* end = nullptr;
    t.xid = std::strtoull(f.xid.c_str(), &end, 10);
    if (f.xid.empty() || *end != '\0' || !std::isdigit(static_cast<unsigned char>(f.xid[0])) || t.xid < 3) {
      return Status::InvalidArgument("--target-xid '" + f.xid + "' is not a transaction id",
                                     "pass the number txid_current() returned");
    }
    t.value = std::to_string(t.xid);
  } else if (!f.lsn.empty()) {
    t.kind = RecoveryTarget::Kind::kLsn;
    auto lsn = wal::ParseLsn(f.lsn);
    if (!lsn.ok()) return Status::InvalidArgument("--target-lsn '" + f.lsn + "' is not an LSN", "write it as 0/3000028");
    t.lsn = *lsn;
    t.value = wal::FormatLsn(t.lsn);
  } else if (!f.name.empty()) {
    t.kind = RecoveryTarget::Kind::kName;
    t.value = f.name;
  } else if (f.immediate) {
    t.kind = RecoveryTarget::Kind::kImmediate;
  }
  if (f.exclusive && (t.kind == RecoveryTarget::Kind::kLatest || t.kind == RecoveryTarget::Kind::kImmediate ||
                      t.kind == RecoveryTarget::Kind::kName)) {
    return Status::InvalidArgument("--target-exclusive applies to --target-time, --target-xid and --target-lsn");
  }
  t.exclusive = f.exclusive;
  if (!f.timeline.empty()) {
    bool number = f.timeline.find_first_not_of("0123456789") == std::string::npos;
    if (f.timeline != "latest" && f.timeline != "current" && !number) {
      return Status::InvalidArgument("--target-timeline must be latest, current or a timeline number");
    }
    t.timeline = f.timeline;
  }
  if (!f.action.empty()) {
    if (f.action != "promote" && f.action != "pause" && f.action != "shutdown") {
      return Status::InvalidArgument("--target-action must be promote, pause or shutdown");
    }
    if (t.kind == RecoveryTarget::Kind::kLatest) {
      return Status::InvalidArgument("--target-action needs a target",
                                     "without one, recovery replays all archived WAL and the server is promoted");
    }
    t.action = f.action;
  }
  return t;
}

std::string RecoveryTarget::Describe() const {
  switch (kind) {
    case Kind::kLatest: return "the end of the archived WAL";
    case Kind::kTime: return std::string(exclusive ? "just before " : "") + "time " + value;
    case Kind::kXid: return std::string(exclusive ? "just before " : "") + "transaction " + value;
    case Kind::kLsn: return std::string(exclusive ? "just before " : "") + "LSN " + value;
    case Kind::kName: return "restore point '" + value + "'";
    case Kind::kImmediate: return "the backup's consistency point";
  }
  return "";
}

bool CanReach(const repo::Manifest& m, const RecoveryTarget& t) {
  if (m.type != "physical" || !m.physical) return false;
  const auto& p = *m.physical;
  if (!t.timeline.empty() && t.timeline.find_first_not_of("0123456789") == std::string::npos &&
      p.timeline > std::strtoul(t.timeline.c_str(), nullptr, 10)) {
    return false;
  }
  switch (t.kind) {
    case RecoveryTarget::Kind::kTime:
      return p.stop_us <= t.time_us;
    case RecoveryTarget::Kind::kLsn: {
      auto stop = wal::ParseLsn(p.stop_lsn);
      return stop.ok() && *stop <= t.lsn;
    }
    case RecoveryTarget::Kind::kXid: {
      if (p.stop_xmin.empty()) return false;
      uint64_t xmin = std::strtoull(p.stop_xmin.c_str(), nullptr, 10);
      if (t.xid > 0xffffffffULL) return t.xid >= xmin;
      // A 32-bit xid: compare modulo 2^32 as PostgreSQL does (TransactionIdPrecedes).
      int32_t diff = static_cast<int32_t>(static_cast<uint32_t>(t.xid) - static_cast<uint32_t>(xmin));
      return diff >= 0;
    }
    default:
      return true;
  }
}

Result<repo::Manifest> ChooseBackup(const std::vector<repo::Manifest>& backups, const RecoveryTarget& t) {
  const repo::Manifest* oldest = nullptr;
  for (auto it = backups.rbegin(); it != backups.rend(); ++it) {
    if (it->type != "physical" || !it->physical) continue;
    if (CanReach(*it, t)) return *it;
    oldest = &*it;
  }
  if (!oldest) return Status::NotFound("no physical backup in the repository", "take one with `pgkeeper backup --type physical`");
  return Status::NotFound("no physical backup can reach " + t.Describe() + ": the oldest, " + oldest->id +
                              ", became consistent at " + oldest->physical->stop_lsn + " (" +
                              FormatTimestampUtc(oldest->physical->stop_us) + ")",
                          "pick a later target, or a timeline that backups exist for");
}

std::vector<std::string> RecoverySettings(const RecoveryTarget& t, const std::string& restore_command) {
  std::vector<std::string> out = {"restore_command = " + Quote(restore_command)};
  switch (t.kind) {
    case RecoveryTarget::Kind::kTime: out.push_back("recovery_target_time = " + Quote(t.value)); break;
    case RecoveryTarget::Kind::kXid: out.push_back("recovery_target_xid = " + Quote(t.value)); break;
    case RecoveryTarget::Kind::kLsn: out.push_back("recovery_target_lsn = " + Quote(t.value)); break;
    case RecoveryTarget::Kind::kName: out.push_back("recovery_target_name = " + Quote(t.value)); break;
    case RecoveryTarget::Kind::kImmediate: out.push_back("recovery_target = 'immediate'"); break;
    case RecoveryTarget::Kind::kLatest: break;
  }
  if (t.exclusive) out.push_back("recovery_target_inclusive = 'false'");
  if (!t.timeline.empty()) out.push_back("recovery_target_timeline = " + Quote(t.timeline));
  if (t.kind != RecoveryTarget::Kind::kLatest) out.push_back("recovery_target_action = " + Quote(t.action));
  return out;
}

std::string RewriteAutoConf(const std::string& existing, const std::vector<std::string>& settings,
                            const std::string& header) {
  std::istringstream in(existing);
  std::string line, out;
  while (std::getline(in, line)) {
    std::string t = Trim(line);
    bool recovery = t.rfind("restore_command", 0) == 0 || t.rfind("recovery_target", 0) == 0 ||
                    t.rfind("recovery_end_command", 0) == 0;
    out += recovery ? "# " + line + "  # (disabled by pgkeeper restore)\n" : line + "\n";
  }
  out += "# " + header + "\n";
  for (const auto& s : settings) out += s + "\n";
  return out;
}

}  // namespace pgk::physical
