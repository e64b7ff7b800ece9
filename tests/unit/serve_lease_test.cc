// The schedule lease (serve/lease.h) on an in-memory storage with a fake clock: who gets
// it, when a standby takes it over, what a holder that lost it learns, and a race of two
// writers settled by the read back.
#include <gtest/gtest.h>

#include "serve/lease.h"
#include "storage/memory/memory_storage.h"

namespace pgk::serve {
namespace {

struct Fixture {
  storage::MemoryStorage storage{"lease"};
  double now = 1796000000;
  std::function<void(double)> on_sleep;  // what "another serve" does while one waits
  ScheduleLease Make(const std::string& host, double ttl = 60) {
    return ScheduleLease(storage, host, ttl, [this] { return now; }, [this](double s) {
      if (on_sleep) on_sleep(s);
      now += s;
    });
  }
};

TEST(ScheduleLease, OneHolderAtATimeAndTakeoverWhenStale) {
  Fixture f;
  ScheduleLease a = f.Make("a"), b = f.Make("b");
  ASSERT_EQ(a.TryAcquire().value(), true);
  EXPECT_EQ(b.TryAcquire().value(), false);
  ASSERT_TRUE(b.holder().has_value());
  EXPECT_EQ(b.holder()->host, "a");
  EXPECT_EQ(b.holder()->id, a.id());

  f.now += 45;  // renewed within the ttl: still a's
  EXPECT_EQ(a.Renew().value(), true);
  f.now += 59;
  EXPECT_EQ(b.TryAcquire().value(), false);
  f.now += 2;  // 61 s without a renewal: stale
  EXPECT_EQ(b.TryAcquire().value(), true);
  // a comes back (it was paused, say): its renewal tells it that it lost the lease.
  EXPECT_EQ(a.Renew().value(), false);
  ASSERT_TRUE(a.holder().has_value());
  EXPECT_EQ(a.holder()->id, b.id());
  EXPECT_EQ(a.DescribeHolder().rfind("b, pid ", 0), 0u) << a.DescribeHolder();
  // b wrote, then waited 2 s to read its write back.
  EXPECT_NE(a.DescribeHolder().find("renewed 2 s ago"), std::string::npos) << a.DescribeHolder();
}

TEST(ScheduleLease, ReleaseHandsOverAtOnceButOnlyItsOwn) {
  Fixture f;
  ScheduleLease a = f.Make("a"), b = f.Make("b");
  ASSERT_TRUE(a.TryAcquire().value());
  EXPECT_TRUE(b.Release().ok());  // not b's: left alone
  EXPECT_FALSE(b.TryAcquire().value());
  EXPECT_TRUE(a.Release().ok());
  EXPECT_FALSE(f.storage.Exists(kLeasePath).value());
  EXPECT_TRUE(b.TryAcquire().value());
}

TEST(ScheduleLease, TheHoldersLongerTtlCounts) {
  Fixture f;
  ScheduleLease patient = f.Make("patient", 300), eager = f.Make("eager", 10);
  ASSERT_TRUE(patient.TryAcquire().value());
  f.now += 100;
  EXPECT_FALSE(eager.TryAcquire().value()) << "stale by eager's ttl, not by the holder's";
}

TEST(ScheduleLease, OfTwoSimultaneousWritersTheOneReadBackWins) {
  Fixture f;
  ScheduleLease a = f.Make("a"), b = f.Make("b");
  // b read the free lease too and writes while a waits to read its own write back.
  bool raced = false;
  f.on_sleep = [&](double) {
    if (raced) return;
    raced = true;  // (not on_sleep = nullptr: that would destroy this lambda while it runs)
    ASSERT_TRUE(f.storage.Remove(kLeasePath).ok());
    EXPECT_TRUE(b.TryAcquire().value());
  };
  EXPECT_FALSE(a.TryAcquire().value());
  EXPECT_TRUE(raced);
  ASSERT_TRUE(a.holder().has_value());
  EXPECT_EQ(a.holder()->id, b.id());
}

TEST(ScheduleLease, ADamagedLeaseIsNobodys) {
  Fixture f;
  ASSERT_TRUE(f.storage.Put(kLeasePath, "{not json").ok());
  ScheduleLease a = f.Make("a");
  EXPECT_TRUE(a.TryAcquire().value());
}

}  // namespace
}  // namespace pgk::serve
