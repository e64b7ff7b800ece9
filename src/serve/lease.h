// The schedule lease: one `pgkeeper serve` at a time runs the jobs of a repository.
// Two serves on one repository (a Deployment rolled out with RollingUpdate, replicas: 2, a
// second host started by mistake) would otherwise both take the 02:00 backup and both
// run the drill. The lease is one small object in the repository, serve/lease.json:
//
//   {"id": "db1:4242:9f3c01aa", "host": "db1", "pid": 4242,
//    "acquired": 1796000000, "renewed": 1796000045, "ttl_seconds": 60}
//
// Its holder renews it every ttl/4; any serve takes it over once it has not been renewed
// for ttl seconds (the holder died or lost the repository). Taking it is write, wait,
// read back: of two serves that write at once the one read back wins and the other
// stands by. Object stores have no compare-and-swap that every S3-compatible server
// supports, so this is a best effort with a window of milliseconds; the repository lock
// (repo/lock.h) still keeps two backups or a backup and an expire from harming each other.
// Times are the hosts' wall clocks: keep the ttl well above their skew.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "storage/storage.h"

namespace pgk::serve {

inline constexpr char kLeasePath[] = "serve/lease.json";

struct LeaseHolder {
  std::string id, host;
  int64_t pid = 0;
  double acquired = 0, renewed = 0, ttl_s = 0;
};

class ScheduleLease {
 public:
  // `now` and `sleep` are injectable for tests (defaults: the wall clock, a real sleep).
  ScheduleLease(storage::Storage& storage, std::string host, double ttl_s, std::function<double()> now = {},
                std::function<void(double)> sleep = {});

  // Takes the lease when nobody holds it, its holder let it go stale, or it is ours.
  // True when held afterwards; otherwise holder() says who has it.
  Result<bool> TryAcquire();
  // Renews the held lease; false when another serve holds it now (this one lost it).
  Result<bool> Renew();
  // Removes the lease if it is still ours (a clean stop hands over at once).
  Status Release();

  double ttl_s() const { return ttl_s_; }
  const std::string& id() const { return id_; }
  const std::optional<LeaseHolder>& holder() const { return holder_; }  // the other one, last seen
  // The other holder as last seen, "db1, pid 4242, renewed 12 s ago" ("another serve"
  // when unknown), on this lease's clock (the hosts' wall clocks, not serve's test clock).
  std::string DescribeHolder() const;

 private:
  Result<std::optional<LeaseHolder>> Read();
  Status Write(double acquired);

  storage::Storage& storage_;
  std::string host_, id_;
  double ttl_s_;
  std::function<double()> now_;
  std::function<void(double)> sleep_;
  double acquired_ = 0;
  std::optional<LeaseHolder> holder_;
};

}  // namespace pgk::serve
