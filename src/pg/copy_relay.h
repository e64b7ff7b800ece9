// Moving rows from one server to another without holding them: COPY ... TO STDOUT on one
// connection feeds COPY ... FROM STDIN on the other through a bounded buffer.
#pragma once

#include <cstddef>
#include <string>

#include "common/status.h"
#include "pg/connection.h"

namespace pgk::pg {

// Runs `copy_out_sql` on `from` (on a thread of its own) and `copy_in_sql` on `to`, with at
// most about `max_buffered` bytes between them: memory stays bounded whatever the row
// count. Returns the rows `to` stored. When either side fails, the other is stopped
// (the source's COPY cancelled, the target's COPY aborted, so it stores nothing) and the
// first failure is returned, the source's when both failed.
Result<int64_t> RelayCopy(Connection& from, const std::string& copy_out_sql, Connection& to,
                          const std::string& copy_in_sql, size_t max_buffered = 4 << 20);

}  // namespace pgk::pg
