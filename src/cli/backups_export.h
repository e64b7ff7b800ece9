// `pgkeeper backups export`: a backup as one plain SQL script in pg_dump's plain format,
// so that a backup can be restored with psql alone, without pgkeeper.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "repo/repository.h"

namespace pgk::cli {

struct ExportResult {
  std::string path;  // DIR/<id>.sql
  int tables = 0;    // COPY blocks written
  int64_t large_objects = 0;
  uint64_t bytes = 0;  // size of the script
};

// Writes `dir`/<id>.sql (0600; `dir` and missing parents created 0700): pre-data as
// pg_dump wrote it, one COPY ... FROM stdin block per table-data file, the sequences,
// the large objects (lo_open/lowrite, as pg_dump writes them) and post-data, in the order
// restore applies them. `psql -v ON_ERROR_STOP=1 -X -f FILE NEWDB` recreates the database.
// Every file is streamed through Repository::OpenFile, so checksums are verified and
// memory stays bounded. The script appears only once complete (temporary file, fsync,
// rename); on any error it is removed. `data_key` is the backup's key (null: unencrypted).
Result<ExportResult> ExportBackup(repo::Repository& repo, const repo::Manifest& m, const pipeline::Key* data_key,
                                  const std::string& dir);

}  // namespace pgk::cli
