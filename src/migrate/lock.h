// The migration lock: a session-level advisory lock whose key is derived from the history
// table's name, so runs against the same history serialise and runs against different
// histories do not. While waiting, we poll pg_try_advisory_lock in autocommit mode: a
// waiting run holds no transaction and no snapshot, so a CREATE INDEX CONCURRENTLY in the
// running migration (which waits for all older snapshots) cannot deadlock with it. A
// killed run's session ends and the server releases its lock: no stale lock file exists.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "migrate/history.h"
#include "pg/connection.h"

namespace pgk::migrate {

int64_t LockKey(const TableName& table);

class MigrationLock {
 public:
  // Waits up to `timeout_s` (polling); on timeout a Timeout error (exit 3) that says
  // who holds the lock: "another migration is running (pid N on host H since T)".
  static Result<MigrationLock> Acquire(pg::Connection& conn, const TableName& table, double timeout_s);
  MigrationLock(MigrationLock&& other) noexcept : conn_(other.conn_), key_(other.key_) { other.conn_ = nullptr; }
  MigrationLock(const MigrationLock&) = delete;
  ~MigrationLock();

 private:
  MigrationLock(pg::Connection* conn, int64_t key) : conn_(conn), key_(key) {}
  pg::Connection* conn_;
  int64_t key_;
};

}  // namespace pgk::migrate
