// Where a WAL file comes from: the cluster's identity, read from PGDATA/global/pg_control
// and from a segment's first page, without a server connection (archive_command runs with
// PGDATA as its working directory and must not depend on the server accepting queries).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "common/status.h"
#include "wal/archive.h"

namespace pgk::wal {

// The first fields of a segment's long page header (XLogLongPageHeaderData), which have
// kept their place since PostgreSQL 11.
struct SegmentHeader {
  uint16_t magic = 0;  // XLOG_PAGE_MAGIC: changes with every major version's WAL format
  uint32_t timeline = 0;
  uint64_t page_address = 0;  // LSN of the segment's first byte
  uint64_t system_identifier = 0;
  uint32_t segment_size = 0;
  uint32_t wal_block_size = 0;
};
inline constexpr size_t kSegmentHeaderSize = 40;

// Malformed when `first_bytes` (at least kSegmentHeaderSize) is not a long page header.
Result<SegmentHeader> ParseSegmentHeader(std::string_view first_bytes, const std::string& name);

// System identifier and pg_control version from PGDATA/global/pg_control (their offsets
// are the same in every version); wal_segment_size is not read here (its offset moves
// between versions): it comes from a segment's header. NotFound when there is no
// pg_control under `pgdata`.
Result<ClusterIdentity> ReadControlFile(const std::filesystem::path& pgdata);

// The header of any complete segment in `wal_dir` (pg_wal), for when the file being
// pushed is not a segment (a .history file) and the archive does not exist yet.
Result<SegmentHeader> AnySegmentHeader(const std::filesystem::path& wal_dir);

}  // namespace pgk::wal
