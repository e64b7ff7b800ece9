// The data directory as a physical backup sees it: what to copy, what to leave out, and
// which files hold checksummed pages.
//
// Left out, as pg_basebackup and pgBackRest do (the directories themselves are kept, empty,
// so that permissions survive): the contents of pg_wal (the archive provides the WAL),
// pg_stat_tmp, pg_replslot, pg_dynshmem, pg_notify, pg_serial, pg_snapshots, pg_subtrans;
// postmaster.pid/.opts, backup_label, tablespace_map, backup_manifest, recovery.signal,
// standby.signal, pg_internal.init*, postgresql.auto.conf.tmp, current_logfiles.tmp;
// anything named pgsql_tmp*; temporary relations (t<n>_<relfilenode>); and every fork but
// the init fork of unlogged relations (the init fork resets them at recovery end).
//
// Tablespaces: pg_tblspc/<oid> is recorded as a link and its target's contents are listed
// under pg_tblspc/<oid>/ as if they were inside the data directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgk::physical {

struct PgdataEntry {
  enum class Type { kFile, kDirectory, kLink };
  Type type = Type::kFile;
  std::string path;         // relative to PGDATA, '/'-separated
  uint64_t size = 0;
  int64_t mtime_ns = 0;     // file system time, nanoseconds since the epoch
  uint32_t mode = 0;        // permission bits (0600, 0700, 0640, ...)
  std::string link_target;  // kLink: where the link points (absolute for tablespaces)
  bool page_checked = false;  // a relation file: its pages carry checksums
  uint32_t segment_no = 0;    // relation segment number (the ".N" suffix), for block numbers
};

// Walks `pgdata` (and the tablespaces linked from pg_tblspc), applying the rules above.
// Entries come back sorted by path; directories before their contents.
Result<std::vector<PgdataEntry>> ScanPgdata(const std::filesystem::path& pgdata);

// The rules, exposed for tests. `rel` is relative to PGDATA.
bool ExcludedFile(const std::string& rel);
bool ContentsExcluded(const std::string& rel_dir);
// "16384", "16384.2", "16384_fsm", "16384_vm.1", "16384_init": sets *segment_no and
// *relfilenode (the digits) and *fork ("" for main).
bool ParseRelationFile(const std::string& name, std::string* relfilenode, std::string* fork, uint32_t* segment_no);
// Relfilenodes of unlogged relations among the names of one database directory.
std::set<std::string> UnloggedRelations(const std::vector<std::string>& names);
bool IsTempRelation(const std::string& name);
// True for paths under global/, base/ or pg_tblspc/ whose name is a relation file.
bool IsPageCheckedPath(const std::string& rel, uint32_t* segment_no);

}  // namespace pgk::physical
