// `dr --scenario deletion`: the rows a restored copy of a table has that the live table
// lost. Both databases may be on different servers (a physically restored side server),
// so the comparison cannot be one query: the live table's keys and row digests are
// copied into a temporary table of the side session, and the side table's rows without
// an identical live row are written out as CSV.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace pgk::dr {

struct ExportOptions {
  std::string live_conninfo;  // the live database (the table may be gone there)
  std::string side_conninfo;  // the restored copy
  std::string table;          // "schema.table" or "table" (public)
  std::string dir;            // created if missing (0700); the file is <schema>.<table>.csv (0600)
};

struct ExportResult {
  std::string table;  // qualified, as quoted for display
  std::string file;
  int64_t rows = 0;                 // rows written
  int64_t missing = 0;              // rows whose key is not in the live table (all rows without a key)
  int64_t changed = 0;              // rows whose key is in the live table with other values
  std::string key;                  // the primary key's columns, "" when the table has none
  bool live_table_missing = false;  // the whole table was dropped: every row is exported
};

// With a primary key: rows whose key is absent from the live table or whose values differ
// there. Without one: rows that have no identical row in the live table (a duplicate row
// that lost one of its copies is not detected). Rows are compared by md5 of their text
// form, read by both sessions with the same output settings (UTC, ISO dates, full float
// precision), so equal values give equal text. NotFound when the side table does not exist.
Result<ExportResult> ExportLostRows(const ExportOptions& options);

}  // namespace pgk::dr
