// PostgreSQL data page checks: the page checksum algorithm (storage/checksum_impl.h:
// 32 parallel FNV-1a-like sums over the page, mixed with the block number) and the
// verdict a backup gives one page of a relation file while copying it.
//
// Pure functions over bytes; the copy loop (file_copy.h) decides what to re-read.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pgk::physical {

// The checksum PostgreSQL stores in pd_checksum for `page` (block_size bytes, a multiple
// of 128) at absolute block number `blkno` (segment number x blocks per segment + block).
uint16_t PageChecksum(const char* page, size_t block_size, uint32_t blkno);

// Fields of the page header the checks need (little- or big-endian as the server wrote it:
// the backup runs on the server's machine, so native order).
uint64_t PageLsn(const char* page);
uint16_t PageStoredChecksum(const char* page);
bool PageIsNew(const char* page);  // pd_upper == 0: never initialised

enum class PageVerdict {
  kOk,        // checksum matches
  kNew,       // an all-zero page (extended, not yet written): nothing to check
  kTooNew,    // LSN at or after the backup's start: WAL replay rewrites it, may be torn
  kBad,       // checksum mismatch, or a "new" page that is not all zeros
};

// What pg_basebackup and pgBackRest decide for one page: pages changed after the backup
// started are skipped (they are restored from full-page images in the WAL).
PageVerdict CheckPage(const char* page, size_t block_size, uint32_t blkno, uint64_t backup_start_lsn);

}  // namespace pgk::physical
