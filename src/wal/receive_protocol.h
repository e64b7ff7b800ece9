// The messages of PostgreSQL's streaming replication protocol that a WAL receiver
// exchanges inside the CopyBoth stream (protocol-replication.html). Pure: no I/O.
//
//   server -> receiver   'w' XLogData:  start LSN, server's WAL end, send time, WAL bytes
//                        'k' keepalive: server's WAL end, send time, reply requested
//   receiver -> server   'r' standby status update: write, flush, apply LSNs, time, reply requested
//
// Integers are big-endian; times are microseconds since 2000-01-01 00:00:00 UTC.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "common/status.h"

namespace pgk::wal::replication {

struct XLogData {
  uint64_t start = 0;       // LSN of data's first byte
  uint64_t server_end = 0;  // the end of WAL on the server when it sent this
  int64_t send_time_us = 0;
  std::string_view data;  // points into the message passed to ParseMessage
};

struct Keepalive {
  uint64_t server_end = 0;
  int64_t send_time_us = 0;
  bool reply_requested = false;
};

using Message = std::variant<XLogData, Keepalive>;

// Malformed for a truncated message or an unknown type byte.
Result<Message> ParseMessage(std::string_view bytes);

struct StandbyStatus {
  uint64_t write = 0;  // received and written (not necessarily durable)
  uint64_t flush = 0;  // durable: what synchronous replication and the slot go by; 0 = not reported
  uint64_t apply = 0;  // 0: a receiver applies nothing (remote_apply commits would wait forever)
  int64_t now_us = 0;
  bool reply_requested = false;
};

std::string EncodeStatus(const StandbyStatus& status);

// Microseconds since PostgreSQL's epoch (2000-01-01 UTC).
int64_t PgTimeMicros(std::chrono::system_clock::time_point t);

}  // namespace pgk::wal::replication
