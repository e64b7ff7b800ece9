// Where a physical backup reads the cluster from:
//   pgdata       the data directory, on this host (pg_backup_start/stop over libpq);
//   replication  BASE_BACKUP over a replication connection: no file system access, so
//                the server may be on another host (stream_copy.h);
//   auto         pgdata when the data directory (--pgdata, else the server's
//                data_directory) is readable here and carries the server's system
//                identifier, else replication.
#pragma once

#include <string>

#include "common/status.h"
#include "pg/connection.h"
#include "physical/server.h"

namespace pgk::physical {

struct SourceChoice {
  std::string source;  // "pgdata" | "replication"
  std::string pgdata;  // pgdata: the checked data directory
  std::string why;     // for the user: why this source (auto)
};

// `requested`: "auto", "pgdata" or "replication"; `pgdata_flag`: --pgdata ("" = the
// server's data_directory). Refused when replication is needed and the role may not use
// it (checked here, before anything starts, for a clear message).
Result<SourceChoice> ChooseSource(pg::Connection& conn, const std::string& requested, const std::string& pgdata_flag,
                                  const ServerInfo& server);

// The data directory must be the connected server's: the same path on another host (or
// a stale copy) would produce a backup that cannot be recovered.
Result<std::string> ResolvePgdata(const std::string& flag, const ServerInfo& s);

}  // namespace pgk::physical
