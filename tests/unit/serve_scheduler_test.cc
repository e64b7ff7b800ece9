// Scheduler decisions on a fake clock: due, skip while running, missed runs once.
#include <gtest/gtest.h>

#include "repo/manifest.h"
#include "serve/clock.h"
#include "serve/scheduler.h"

namespace pgk::serve {
namespace {

int64_t T(const std::string& iso) { return *repo::ParseIso8601(iso); }

JobSpec Job(const std::string& name, const std::string& schedule) {
  JobSpec j;
  j.name = name;
  j.command = "backup";
  j.schedule = *CronSchedule::Parse(schedule);
  return j;
}

int64_t Now(const FakeClock& c) { return static_cast<int64_t>(c.Now()); }

TEST(Scheduler, StartsWhenDue) {
  FakeClock clock(static_cast<double>(T("2026-12-06T01:59:00Z")));
  Scheduler s({Job("daily", "0 2 * * *")}, TimeZone::Utc());
  s.Start(Now(clock), {});
  EXPECT_TRUE(s.Tick(Now(clock)).start.empty());
  clock.Advance(59);
  EXPECT_TRUE(s.Tick(Now(clock)).start.empty());
  clock.Advance(1);
  Decisions d = s.Tick(Now(clock));
  ASSERT_EQ(d.start.size(), 1u);
  EXPECT_EQ(d.start[0].scheduled, T("2026-12-06T02:00:00Z"));
  EXPECT_FALSE(d.start[0].missed);
  EXPECT_TRUE(s.running(0));
  EXPECT_EQ(s.next(0), T("2026-12-07T02:00:00Z"));
  // Ticking again in the same minute does not start it again.
  clock.Advance(0.5);
  EXPECT_TRUE(s.Tick(Now(clock)).start.empty());
}

TEST(Scheduler, SkipsWhileRunning) {
  FakeClock clock(static_cast<double>(T("2026-12-06T10:00:30Z")));
  Scheduler s({Job("often", "* * * * *")}, TimeZone::Utc());
  s.Start(Now(clock), {});
  clock.Advance(30);
  ASSERT_EQ(s.Tick(Now(clock)).start.size(), 1u);  // 10:01
  clock.Advance(60);                               // 10:02: still running
  Decisions d = s.Tick(Now(clock));
  EXPECT_TRUE(d.start.empty());
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_EQ(d.skipped[0].scheduled, T("2026-12-06T10:02:00Z"));
  s.Finished("often");
  clock.Advance(10);
  EXPECT_TRUE(s.Tick(Now(clock)).start.empty());  // the skipped run is not made up
  clock.Advance(50);                              // 10:03
  EXPECT_EQ(s.Tick(Now(clock)).start.size(), 1u);
}

TEST(Scheduler, StallGivesOneRun) {
  FakeClock clock(static_cast<double>(T("2026-12-06T10:00:30Z")));
  Scheduler s({Job("often", "* * * * *")}, TimeZone::Utc());
  s.Start(Now(clock), {});
  clock.Advance(3600);  // suspended for an hour
  EXPECT_EQ(s.Tick(Now(clock)).start.size(), 1u);
  s.Finished("often");
  EXPECT_TRUE(s.Tick(Now(clock)).start.empty());
}

TEST(Scheduler, MissedRunAtStartUpRunsOnce) {
  FakeClock clock(static_cast<double>(T("2026-12-08T10:00:00Z")));
  Scheduler s({Job("daily", "0 2 * * *"), Job("fresh", "0 2 * * *"), Job("current", "0 2 * * *")}, TimeZone::Utc());
  // daily last ran for 12-05 (down for two days); fresh never ran; current ran for today.
  s.Start(Now(clock), {{"daily", T("2026-12-05T02:00:00Z")}, {"current", T("2026-12-08T02:00:00Z")}});
  Decisions d = s.Tick(Now(clock));
  ASSERT_EQ(d.start.size(), 1u);
  EXPECT_EQ(d.start[0].job, 0u);
  EXPECT_TRUE(d.start[0].missed);
  EXPECT_EQ(d.start[0].scheduled, T("2026-12-08T02:00:00Z"));  // once, for the latest missed time
  s.Finished("daily");
  clock.Advance(60);
  EXPECT_TRUE(s.Tick(Now(clock)).start.empty());
  EXPECT_EQ(s.next(0), T("2026-12-09T02:00:00Z"));
}

TEST(Scheduler, RestartRightAfterARunIsNotAMiss) {
  FakeClock clock(static_cast<double>(T("2026-12-08T02:00:40Z")));
  Scheduler s({Job("daily", "0 2 * * *")}, TimeZone::Utc());
  s.Start(Now(clock), {{"daily", T("2026-12-08T02:00:00Z")}});
  EXPECT_TRUE(s.Tick(Now(clock)).start.empty());
}

TEST(Scheduler, ReloadKeepsTheStateOfJobsThatStay) {
  FakeClock clock(static_cast<double>(T("2026-12-06T10:00:30Z")));
  Scheduler s({Job("often", "* * * * *"), Job("daily", "0 2 * * *"), Job("gone", "0 3 * * *")}, TimeZone::Utc());
  s.Start(Now(clock), {});
  clock.Advance(30);
  ASSERT_EQ(s.Tick(Now(clock)).start.size(), 1u);  // often, 10:01, running
  // often stays (same schedule), daily moves to 04:00, gone goes, fresh is new.
  s.Reload({Job("fresh", "0 5 * * *"), Job("daily", "0 4 * * *"), Job("often", "* * * * *")}, TimeZone::Utc(),
           Now(clock));
  ASSERT_EQ(s.jobs().size(), 3u);
  EXPECT_FALSE(s.running(0));
  EXPECT_EQ(s.next(0), T("2026-12-07T05:00:00Z"));  // a new job waits for its first time
  EXPECT_EQ(s.next(1), T("2026-12-07T04:00:00Z"));  // recomputed for the new schedule
  EXPECT_TRUE(s.running(2));                        // the running run is still known
  EXPECT_EQ(s.next(2), T("2026-12-06T10:02:00Z"));
  clock.Advance(60);  // 10:02: often is still running, so this one is skipped
  Decisions d = s.Tick(Now(clock));
  EXPECT_TRUE(d.start.empty());
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_EQ(s.jobs()[d.skipped[0].job].name, "often");
  s.Finished("often");  // the run that started before the reload ends
  s.Finished("gone");   // a removed job's run ending changes nothing
  EXPECT_FALSE(s.running(2));
  clock.Advance(60);
  d = s.Tick(Now(clock));
  ASSERT_EQ(d.start.size(), 1u);
  EXPECT_EQ(s.jobs()[d.start[0].job].name, "often");
}

}  // namespace
}  // namespace pgk::serve
