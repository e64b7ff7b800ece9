// Cron schedules: the five classic fields (minute hour day-of-month month day-of-week)
// with lists, ranges, steps and names (jan..dec, sun..sat; 7 is Sunday too), and the
// shorthands @hourly @daily @midnight @weekly @monthly @yearly @annually. As in Vixie
// cron, when both day-of-month and day-of-week are restricted a day matches if EITHER
// does ("0 0 1 * mon": the 1st and every Monday).
//
// Next-fire times are computed on the wall clock of a time zone, with these rules for
// daylight-saving changes (the ones cronie applies):
//   - a time that does not exist (spring forward, 02:30 in Europe/Berlin on the last
//     Sunday of March) fires once, at the first instant after the gap (03:00 CEST), when
//     the hour field is restricted; an every-hour schedule simply has no run in the
//     missing hour;
//   - a time that exists twice (fall back) fires once, at its first occurrence, when the
//     hour field is restricted; an every-hour schedule runs in both real hours.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "serve/timezone.h"

namespace pgk::serve {

class CronSchedule {
 public:
  // Errors (Config, exit 2) name the field and the offending text, e.g.
  // "cron field 'hour' of \"0 25 * * *\": 25 is out of range 0-23".
  static Result<CronSchedule> Parse(const std::string& text);

  const std::string& text() const { return text_; }
  // The first fire time strictly after `after` (UTC seconds; fire times are whole
  // minutes), searching up to eight years ahead (Feb 29 on a Monday is rare).
  std::optional<int64_t> Next(int64_t after, const TimeZone& tz) const;
  // The latest fire time at or before `at` (for missed runs), searching up to `horizon_s`
  // back; nullopt when there is none.
  std::optional<int64_t> Previous(int64_t at, const TimeZone& tz, int64_t horizon_s = 400LL * 86400) const;

  bool MatchesDay(int year, unsigned month, unsigned day, int weekday) const;

 private:
  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0..6, Sunday = 0
  bool days_star_ = false, weekdays_star_ = false, hours_star_ = false;
};

}  // namespace pgk::serve
