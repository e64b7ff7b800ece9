// `restore --reindex`: rebuilding the restored indexes once the load is complete.
#pragma once

#include <string>

#include "common/status.h"
#include "pg/connection.h"

namespace pgk::restore {

// REINDEX DATABASE on `conn`'s database (the restored one); returns how many indexes of
// user tables were rebuilt.
Result<int> ReindexDatabase(pg::Connection& conn);

// REINDEX TABLE `table` (already quoted); returns how many indexes it has.
Result<int> ReindexTable(pg::Connection& conn, const std::string& table);

}  // namespace pgk::restore
