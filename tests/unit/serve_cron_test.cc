// Cron parsing and next-fire times, in UTC and across daylight-saving changes.
#include <gtest/gtest.h>

#include "repo/manifest.h"
#include "serve/cron.h"
#include "serve/timezone.h"

namespace pgk::serve {
namespace {

int64_t T(const std::string& iso) { return *repo::ParseIso8601(iso); }
std::string S(std::optional<int64_t> t) { return t ? repo::Iso8601(*t) : "none"; }

CronSchedule Cron(const std::string& text) {
  auto c = CronSchedule::Parse(text);
  EXPECT_TRUE(c.ok()) << text << ": " << c.status().ToString();
  return c.ok() ? *c : CronSchedule();
}

TimeZone Zone(const std::string& name) {
  auto tz = TimeZone::Load(name);
  EXPECT_TRUE(tz.ok()) << tz.status().ToString();
  return tz.ok() ? *tz : TimeZone::Utc();
}

TEST(Cron, NextInUtc) {
  TimeZone utc = TimeZone::Utc();
  EXPECT_EQ(S(Cron("0 2 * * *").Next(T("2026-12-06T01:59:59Z"), utc)), "2026-12-06T02:00:00Z");
  EXPECT_EQ(S(Cron("0 2 * * *").Next(T("2026-12-06T02:00:00Z"), utc)), "2026-12-07T02:00:00Z");
  EXPECT_EQ(S(Cron("*/15 * * * *").Next(T("2026-12-06T10:07:00Z"), utc)), "2026-12-06T10:15:00Z");
  EXPECT_EQ(S(Cron("5,35 1-3 * * *").Next(T("2026-12-06T03:36:00Z"), utc)), "2026-12-07T01:05:00Z");
  EXPECT_EQ(S(Cron("@hourly").Next(T("2026-12-06T10:00:00Z"), utc)), "2026-12-06T11:00:00Z");
  EXPECT_EQ(S(Cron("@daily").Next(T("2026-12-06T10:00:00Z"), utc)), "2026-12-07T00:00:00Z");
  EXPECT_EQ(S(Cron("@weekly").Next(T("2026-12-06T10:00:00Z"), utc)), "2026-12-13T00:00:00Z");  // a Sunday
  EXPECT_EQ(S(Cron("@monthly").Next(T("2026-12-06T10:00:00Z"), utc)), "2027-01-01T00:00:00Z");
  EXPECT_EQ(S(Cron("@yearly").Next(T("2026-12-06T10:00:00Z"), utc)), "2027-01-01T00:00:00Z");
  EXPECT_EQ(S(Cron("0 0 29 feb *").Next(T("2026-12-06T10:00:00Z"), utc)), "2028-02-29T00:00:00Z");
  EXPECT_EQ(S(Cron("30 3 * * 1").Next(T("2026-12-06T10:00:00Z"), utc)), "2026-12-07T03:30:00Z");  // Monday
  EXPECT_EQ(S(Cron("0 9 * jan-mar mon-fri").Next(T("2026-12-06T10:00:00Z"), utc)), "2027-01-01T09:00:00Z");
  EXPECT_EQ(S(Cron("0 0 * * 7").Next(T("2026-12-06T10:00:00Z"), utc)), "2026-12-13T00:00:00Z");  // 7 is Sunday
  EXPECT_EQ(S(Cron("10/20 * * * *").Next(T("2026-12-06T10:31:00Z"), utc)), "2026-12-06T10:50:00Z");
}

TEST(Cron, DayOfMonthOrDayOfWeek) {
  TimeZone utc = TimeZone::Utc();
  // Both restricted: the 15th OR a Monday. 2026-12-07 is a Monday, before the 15th.
  EXPECT_EQ(S(Cron("0 0 15 * mon").Next(T("2026-12-06T10:00:00Z"), utc)), "2026-12-07T00:00:00Z");
  EXPECT_EQ(S(Cron("0 0 15 * mon").Next(T("2026-12-14T10:00:00Z"), utc)), "2026-12-15T00:00:00Z");
  // One of them a star: both must match (the 1st, any weekday).
  EXPECT_EQ(S(Cron("0 0 1 * *").Next(T("2026-12-06T10:00:00Z"), utc)), "2027-01-01T00:00:00Z");
  EXPECT_EQ(S(Cron("0 0 * * fri").Next(T("2026-12-06T10:00:00Z"), utc)), "2026-12-11T00:00:00Z");
}

TEST(Cron, Previous) {
  TimeZone utc = TimeZone::Utc();
  EXPECT_EQ(S(Cron("0 2 * * *").Previous(T("2026-12-06T12:00:00Z"), utc)), "2026-12-06T02:00:00Z");
  EXPECT_EQ(S(Cron("0 2 * * *").Previous(T("2026-12-06T02:00:00Z"), utc)), "2026-12-06T02:00:00Z");
  EXPECT_EQ(S(Cron("0 2 * * *").Previous(T("2026-12-06T01:59:00Z"), utc)), "2026-12-05T02:00:00Z");
  EXPECT_EQ(S(Cron("30 3 * * 1").Previous(T("2026-12-06T10:00:00Z"), utc)), "2026-11-30T03:30:00Z");
}

TEST(Cron, ParseErrorsSayWhatAndWhere) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"0 25 * * *", "hour: 25 is out of range 0-23"},
      {"60 * * * *", "minute: 60 is out of range 0-59"},
      {"0 2 * *", "has 4 field(s), not 5"},
      {"0 2 * * * *", "has 6 field(s), not 5"},
      {"", "has 0 field(s), not 5"},
      {"@hourlyy", "unknown shorthand"},
      {"*/0 * * * *", "step '0'"},
      {"0 5-1 * * *", "range '5-1' runs backwards"},
      {"0 0 * foo *", "month: 'foo' is not a number or a name"},
      {"0 0 * * funday", "day-of-week: 'funday'"},
      {"0 0 0 * *", "day-of-month: 0 is out of range 1-31"},
      {"0 0 1,,2 * *", "empty list item"},
      {"x 0 * * *", "minute: 'x' is not a number"},
  };
  for (const auto& c : cases) {
    auto r = CronSchedule::Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().exit_code(), 2);
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << c.text << " -> " << r.status().message();
    EXPECT_NE(r.status().message().find(std::string("\"") + c.text + "\""), std::string::npos)
        << "names the schedule: " << r.status().message();
  }
  EXPECT_FALSE(CronSchedule::Parse("0 0 31 2 *").ok() && false);  // valid syntax (never fires)
}

TEST(TimeZoneTest, BerlinOffsets) {
  TimeZone b = Zone("Europe/Berlin");
  EXPECT_EQ(b.OffsetAt(T("2026-01-15T12:00:00Z")), 3600);
  EXPECT_EQ(b.OffsetAt(T("2026-07-15T12:00:00Z")), 7200);
  EXPECT_EQ(b.OffsetAt(T("2026-03-29T00:59:59Z")), 3600);
  EXPECT_EQ(b.OffsetAt(T("2026-03-29T01:00:00Z")), 7200);
  EXPECT_EQ(S(b.NextTransition(T("2026-03-01T00:00:00Z"))), "2026-03-29T01:00:00Z");
  // Beyond the file's transitions (2037): the POSIX rule in its footer.
  EXPECT_EQ(b.OffsetAt(T("2045-07-15T12:00:00Z")), 7200);
  EXPECT_EQ(b.OffsetAt(T("2045-12-15T12:00:00Z")), 3600);
  EXPECT_EQ(S(b.NextTransition(T("2045-01-01T00:00:00Z"))), "2045-03-26T01:00:00Z");
  TimeZone sydney = Zone("Australia/Sydney");
  EXPECT_EQ(sydney.OffsetAt(T("2026-01-15T00:00:00Z")), 11 * 3600);
  EXPECT_EQ(sydney.OffsetAt(T("2026-07-15T00:00:00Z")), 10 * 3600);
  EXPECT_EQ(sydney.OffsetAt(T("2045-01-15T00:00:00Z")), 11 * 3600);
  EXPECT_EQ(sydney.OffsetAt(T("2045-07-15T00:00:00Z")), 10 * 3600);
}

TEST(TimeZoneTest, UnknownZone) {
  auto tz = TimeZone::Load("Europe/Atlantis");
  ASSERT_FALSE(tz.ok());
  EXPECT_NE(tz.status().message().find("unknown time zone 'Europe/Atlantis'"), std::string::npos);
  EXPECT_FALSE(TimeZone::Load("../etc/passwd").ok());
  EXPECT_FALSE(TimeZone::Parse("x", "not a tzif file at all, long enough to have a header........").ok());
}

TEST(Cron, LocalTimeZone) {
  TimeZone b = Zone("Europe/Berlin");
  // 02:00 in Berlin is 01:00 UTC in winter, 00:00 UTC in summer.
  EXPECT_EQ(S(Cron("0 2 * * *").Next(T("2026-12-06T12:00:00Z"), b)), "2026-12-07T01:00:00Z");
  EXPECT_EQ(S(Cron("0 2 * * *").Next(T("2026-07-06T12:00:00Z"), b)), "2026-07-07T00:00:00Z");
  // Midnight local on a Monday is Sunday 23:00 UTC.
  EXPECT_EQ(S(Cron("0 0 * * mon").Next(T("2026-12-06T12:00:00Z"), b)), "2026-12-06T23:00:00Z");
}

TEST(Cron, SpringForward) {
  TimeZone b = Zone("Europe/Berlin");
  // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:30 does not exist that day.
  // A fixed-time job runs once, right after the gap.
  EXPECT_EQ(S(Cron("30 2 * * *").Next(T("2026-03-28T12:00:00Z"), b)), "2026-03-29T01:00:00Z");
  EXPECT_EQ(S(Cron("30 2 * * *").Next(T("2026-03-29T01:00:00Z"), b)), "2026-03-30T00:30:00Z");
  EXPECT_EQ(S(Cron("30 2 * * *").Next(T("2026-03-27T12:00:00Z"), b)), "2026-03-28T01:30:00Z");
  // Several fixed times in the gap still give one run.
  auto every15 = Cron("*/15 2 * * *");
  EXPECT_EQ(S(every15.Next(T("2026-03-29T00:50:00Z"), b)), "2026-03-29T01:00:00Z");
  EXPECT_EQ(S(every15.Next(T("2026-03-29T01:00:00Z"), b)), "2026-03-30T00:00:00Z");
  // An every-hour job has no run in the missing hour and goes on at 03:00 CEST.
  auto hourly = Cron("30 * * * *");
  EXPECT_EQ(S(hourly.Next(T("2026-03-29T00:30:00Z"), b)), "2026-03-29T01:30:00Z");  // 01:30 CET -> 03:30 CEST
  // Also in years the zone file no longer lists (its footer rule): 2045-03-26.
  EXPECT_EQ(S(Cron("30 2 * * *").Next(T("2045-03-25T12:00:00Z"), b)), "2045-03-26T01:00:00Z");
  // Previous() agrees.
  EXPECT_EQ(S(Cron("30 2 * * *").Previous(T("2026-03-29T06:00:00Z"), b)), "2026-03-29T01:00:00Z");
}

TEST(Cron, FallBack) {
  TimeZone b = Zone("Europe/Berlin");
  // 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:00-02:59 happen twice.
  // A fixed-time job runs once, at the first occurrence.
  EXPECT_EQ(S(Cron("30 2 * * *").Next(T("2026-10-24T12:00:00Z"), b)), "2026-10-25T00:30:00Z");
  EXPECT_EQ(S(Cron("30 2 * * *").Next(T("2026-10-25T00:30:00Z"), b)), "2026-10-26T01:30:00Z");
  // An every-hour job runs in both real hours.
  auto hourly = Cron("30 * * * *");
  EXPECT_EQ(S(hourly.Next(T("2026-10-25T00:00:00Z"), b)), "2026-10-25T00:30:00Z");
  EXPECT_EQ(S(hourly.Next(T("2026-10-25T00:30:00Z"), b)), "2026-10-25T01:30:00Z");
  EXPECT_EQ(S(hourly.Next(T("2026-10-25T01:30:00Z"), b)), "2026-10-25T02:30:00Z");
  EXPECT_EQ(S(Cron("30 2 * * *").Previous(T("2026-10-25T01:45:00Z"), b)), "2026-10-25T00:30:00Z");
}

}  // namespace
}  // namespace pgk::serve
