// IANA time zones, read from the system's compiled zoneinfo (TZif files under
// /usr/share/zoneinfo, or $TZDIR). GCC 12's libstdc++ has no std::chrono::tzdb, and the
// glibc route (TZ + localtime_r) is process-global; a TZif reader is ~200 lines, needs no
// extra package and gives the cron code what it needs: the UTC offset at any instant and
// the next transition. Times past the file's last transition follow its POSIX TZ footer
// ("CET-1CEST,M3.5.0,M10.5.0/3"), so schedules stay right after 2037.
//
// Thread safety: a TimeZone is immutable after Load; share it freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgk::serve {

class TimeZone {
 public:
  static TimeZone Utc();
  // "UTC", "Europe/Berlin", ... NotFound/Config errors name the zone and the file.
  static Result<TimeZone> Load(const std::string& name);
  // From TZif bytes (tests); `name` is for messages.
  static Result<TimeZone> Parse(const std::string& name, const std::string& tzif);

  const std::string& name() const { return name_; }
  // Seconds east of UTC in effect at `utc` (seconds since the epoch).
  int32_t OffsetAt(int64_t utc) const;
  // The first instant after `utc` at which the offset changes (nullopt: never).
  std::optional<int64_t> NextTransition(int64_t utc) const;

 private:
  struct Rule;  // the POSIX TZ footer
  struct Transition {
    int64_t at;
    int32_t offset;
  };
  std::string name_ = "UTC";
  int32_t initial_offset_ = 0;
  std::vector<Transition> transitions_;  // sorted by `at`
  // Footer rule, applied after the last transition.
  bool has_rule_ = false;
  int32_t std_offset_ = 0, dst_offset_ = 0;
  bool rule_has_dst_ = false;
  struct When {
    char kind = 'M';  // 'M' month.week.day, 'J' Julian 1..365 without Feb 29, 'D' 0..365
    int month = 0, week = 0, day = 0;
    int32_t time = 7200;  // seconds after local midnight
  } dst_start_, dst_end_;
  friend struct TzParser;
  // Transitions of the footer rule in year `y`, as UTC instants (start, end).
  std::pair<int64_t, int64_t> RuleTransitions(int year) const;
  int32_t RuleOffsetAt(int64_t utc) const;
};

// Civil-date helpers (proleptic Gregorian, UTC arithmetic).
int64_t DaysFromCivil(int y, unsigned m, unsigned d);
void CivilFromDays(int64_t z, int* y, unsigned* m, unsigned* d);
int Weekday(int64_t days);  // 0 = Sunday

}  // namespace pgk::serve
