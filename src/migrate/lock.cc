#include "migrate/lock.h"

#include <chrono>
#include <thread>

#include "common/hash.h"
#include "common/interrupt.h"

namespace pgk::migrate {

int64_t LockKey(const TableName& table) {
  return static_cast<int64_t>(Fnv1a64("pgkeeper-migrate:" + table.schema + "." + table.table));
}

Result<MigrationLock> MigrationLock::Acquire(pg::Connection& conn, const TableName& table, double timeout_s) {
  int64_t key = LockKey(table);
  std::string key_s = std::to_string(key);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                         std::chrono::duration<double>(timeout_s));
  auto backoff = std::chrono::milliseconds(20);
  for (;;) {
    PGK_ASSIGN_OR_RETURN(std::string got, conn.QueryValue("SELECT pg_try_advisory_lock($1::bigint)", {key_s}));
    if (got == "t") return MigrationLock(&conn, key);
    if (Interrupted()) return Status::Interrupted("interrupted while waiting for the migration lock");
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(250));
  }
  // Who holds it? A bigint advisory lock shows in pg_locks as classid = high 32 bits,
  // objid = low 32 bits, objsubid = 1.
  uint64_t u = static_cast<uint64_t>(key);
  auto holder = conn.Query(
      "SELECT a.pid, coalesce(nullif(split_part(a.application_name, '@', 2), ''), a.client_hostname, "
      "host(a.client_addr), 'local socket'), to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || "
      "' UTC' FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
      "AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 1",
      {std::to_string(u >> 32), std::to_string(u & 0xffffffffULL)});
  std::string who = "another migration is running";
  if (holder.ok() && holder->rows() > 0) {
    who += " (pid " + holder->GetString(0, 0) + " on host " + holder->GetString(0, 1) + " since " +
           holder->GetString(0, 2) + ")";
  }
  return Status::Timeout(
      who + "; gave up after waiting " + std::to_string(static_cast<int>(timeout_s)) + " s for " + table.Display(),
      "wait for it to finish, or raise --lock-timeout");
}

MigrationLock::~MigrationLock() {
  if (conn_) (void)conn_->Query("SELECT pg_advisory_unlock($1::bigint)", {std::to_string(key_)});
}

}  // namespace pgk::migrate
