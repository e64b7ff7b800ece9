// Time for the scheduler, behind an interface so that tests decide what "now" is.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace pgk::serve {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the epoch (UTC), with a fraction.
  virtual double Now() const = 0;
};

// The system clock, optionally shifted by a fixed offset. The offset exists for tests of
// the whole process only: PGKEEPER_TEST_NOW=2026-03-29T00:59:50Z makes serve start at
// that instant and let time run on from there, so a schedule fires within seconds.
class SystemClock : public Clock {
 public:
  explicit SystemClock(double offset_s = 0) : offset_s_(offset_s) {}
  double Now() const override;

 private:
  double offset_s_;
};

// The clock serve uses: SystemClock shifted by $PGKEEPER_TEST_NOW when set (ISO 8601 UTC
// or seconds since the epoch). Config error on a malformed value.
Result<SystemClock> ClockFromEnvironment();

// A clock that only moves when told (unit tests).
class FakeClock : public Clock {
 public:
  explicit FakeClock(double now) : now_(now) {}
  double Now() const override { return now_; }
  void Set(double now) { now_ = now; }
  void Advance(double s) { now_ += s; }

 private:
  double now_;
};

}  // namespace pgk::serve
