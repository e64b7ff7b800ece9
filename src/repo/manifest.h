// The backup manifest: what a backup contains and how to verify it. Pure data and JSON;
// no I/O. A backup exists for readers only once its manifest has been written (last, and
// atomically): files without a manifest are debris that `expire` removes.
// The format is documented in docs/repository-format.md; bump kManifestFormat on any
// incompatible change and keep reading older formats.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pgk::repo {

inline constexpr int kManifestFormat = 1;
// Physical backups (files with modes, mtimes and references to other backups) are written
// as format 2, so that a pgkeeper that predates them refuses them instead of misreading.
inline constexpr int kManifestFormatPhysical = 2;

struct ManifestFile {
  std::string name;   // path inside the backup directory, e.g. "data/0001.copy.zst"
  std::string kind;   // "schema-pre" | "schema-post" | "table-data" | "sequences" | "large-objects" | "globals"
  std::string table;  // qualified table for table-data ("" otherwise)
  int64_t rows = -1;  // rows written for table-data (-1: not applicable)
  // table-data: the columns of the COPY, in its order (unquoted names). A restored table
  // may order its columns differently (an attached partition, a parent that got a column
  // after its child), so the data is loaded by name. Empty: all columns in table order
  // (backups written before the field existed).
  std::vector<std::string> columns;
  uint64_t original_size = 0;
  std::string original_sha256;
  uint64_t stored_size = 0;
  std::string stored_sha256;
  std::string compression;  // "zstd" | "lz4" | "none"
  std::string cipher;       // "aes-256-gcm" | "none"
  // Physical backups ("pgdata/<path>" files of kind "pgdata"):
  uint32_t mode = 0;        // permission bits to restore (0: not recorded)
  int64_t mtime_ns = 0;     // modification time to restore, ns since the epoch
  std::string reference;    // id of the backup whose directory stores the file ("" = this backup)
  std::vector<uint32_t> page_errors;  // blocks whose page checksum failed while copying
  bool operator==(const ManifestFile&) const = default;
};

// A directory or symbolic link of a physical backup's data directory.
struct PhysicalPath {
  std::string path;    // relative to PGDATA
  bool link = false;   // a symbolic link (tablespaces: pg_tblspc/<oid>) rather than a directory
  std::string target;  // link target
  uint32_t mode = 0700;
  bool operator==(const PhysicalPath&) const = default;
};

// What a physical backup adds to its manifest (docs/repository-format.md).
struct PhysicalInfo {
  std::string mode;        // "full" | "diff" | "incr"
  std::string reference;   // diff/incr: the backup this one was compared with
  std::string system_identifier;  // decimal (uint64 exceeds JSON's exact integers)
  int pg_version_num = 0;  // e.g. 150004
  uint32_t timeline = 0;
  std::string start_lsn, stop_lsn, checkpoint_lsn;  // "0/2000028"
  std::string start_wal, stop_wal;  // first and last WAL segment the backup needs
  int64_t start_us = 0;    // database clock at pg_backup_start / pg_backup_stop, µs since the epoch
  int64_t stop_us = 0;
  std::string stop_xmin;   // pg_snapshot_xmin after the stop: xids below it finished before
  bool data_checksums = false;
  uint32_t block_size = 8192;
  uint32_t segment_blocks = 131072;  // blocks per relation segment file
  uint64_t wal_segment_size = 16777216;
  std::string pgdata;      // where the data directory was
  std::string owner;       // the data directory's owner (user name)
  std::string superuser;   // the bootstrap superuser (oid 10), for connecting after a restore
  std::string source;      // "pgdata" | "replication" ("" before the field existed: pgdata)
  bool from_standby = false;  // taken from a server in recovery (false before the field existed)
  std::vector<PhysicalPath> paths;
  bool operator==(const PhysicalInfo&) const = default;
};

// One database of a cluster backup: a logical backup whose files are the cluster
// backup's files under `dir` + "/" (see DatabaseManifest).
struct ManifestDatabase {
  std::string name;  // the database's name on the backed-up server
  std::string dir;   // "db/<n>", n counting from 1
  std::string start_time;
  std::string stop_time;
  std::optional<uint64_t> migration_version;
  std::map<std::string, int64_t> row_counts;
  std::vector<std::string> options;
  // Owner, locale, privileges, settings and comment of the database (pg::PropsToJson),
  // which live in shared catalogs outside pg_dump's sections; null in older backups.
  nlohmann::json properties;
  bool operator==(const ManifestDatabase&) const = default;
};

struct Manifest {
  int format = kManifestFormat;
  std::string id;           // see BackupId
  std::string type;         // "logical" | "globals" | "cluster" | "physical"
  std::string database;     // "" for globals
  std::string server_version;
  std::string start_time;   // ISO 8601 UTC, e.g. "2026-11-22T01:02:03Z"
  std::string stop_time;
  double duration_s = 0;
  std::optional<uint64_t> migration_version;
  std::map<std::string, int64_t> row_counts;  // qualified table -> exact rows at backup time
  std::string tag;
  std::string pgkeeper_version;
  std::string compression;
  int compression_level = 0;
  std::string cipher = "none";
  std::string wrapped_data_key;  // the per-backup data key wrapped by the repository key ("" when unencrypted)
  std::string key_id;            // pipeline::KeyId of the key that wrapped it ("" before key ids)
  // During `repo rekey`: the same data key wrapped by the new key, until the rekey drops
  // the old wrapping (docs/repository-format.md).
  std::string rekey_wrapped_data_key;
  std::string rekey_key_id;
  std::vector<std::string> options;  // "schema-only", "data-only", "table=...", "exclude-table=..."
  std::vector<ManifestFile> files;
  std::vector<ManifestDatabase> databases;  // type "cluster" only
  std::optional<PhysicalInfo> physical;     // type "physical" only
  uint64_t original_bytes() const;
  // Bytes this backup stored itself (files referenced from other backups not counted).
  uint64_t stored_bytes() const;
  bool operator==(const Manifest&) const = default;
};

std::string SerializeManifest(const Manifest& m);
// A cluster backup's database `d` as the logical backup it is: id "<cluster id>/<dir>"
// (so that its files resolve under the cluster's directory), type "logical", the files
// under d.dir with that prefix removed, and the cluster's pipeline settings and data key.
Manifest DatabaseManifest(const Manifest& cluster, const ManifestDatabase& d);
// Malformed (exit 2) naming `origin` when the text is not a manifest of a known format.
Result<Manifest> ParseManifest(const std::string& text, const std::string& origin);

// Backup ids sort by time: "20261122T010203Z-L" (L logical, G globals, C cluster; physical
// backups by mode: F full, D differential, I incremental).
std::string BackupId(int64_t epoch_s, const std::string& type);
// The repository layout.
std::string BackupDir(const std::string& id);       // "backups/<id>/"
std::string ManifestPath(const std::string& id);    // "backups/<id>/manifest.json"
bool IsManifestPath(std::string_view path);         // backups/<anything>/manifest.json
// When the backup started, in microseconds, for ordering: ids alone do not order two
// backups of the same second (an incremental and a differential taken back to back are
// "...Z-I" and "...Z-D"); a physical backup knows its start to the microsecond.
int64_t StartMicros(const Manifest& m);
std::string Iso8601(int64_t epoch_s);               // "2026-11-22T01:02:03Z"
Result<int64_t> ParseIso8601(const std::string& text);

}  // namespace pgk::repo
