// The backup manifest: what a backup contains and how to verify it. Pure data and JSON;
// no I/O. A backup exists for readers only once its manifest has been written (last, and
// atomically): files without a manifest are debris that `expire` removes.
// The format is documented in docs/repository-format.md; bump kManifestFormat on any
// incompatible change and keep reading older formats.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgk::repo {

inline constexpr int kManifestFormat = 1;

struct ManifestFile {
  std::string name;   // path inside the backup directory, e.g. "data/0001.copy.zst"
  std::string kind;   // "schema-pre" | "schema-post" | "table-data" | "sequences" | "large-objects" | "globals"
  std::string table;  // qualified table for table-data ("" otherwise)
  int64_t rows = -1;  // rows written for table-data (-1: not applicable)
  uint64_t original_size = 0;
  std::string original_sha256;
  uint64_t stored_size = 0;
  std::string stored_sha256;
  std::string compression;  // "zstd" | "lz4" | "none"
  std::string cipher;       // "aes-256-gcm" | "none"
  bool operator==(const ManifestFile&) const = default;
};

struct Manifest {
  int format = kManifestFormat;
  std::string id;           // see BackupId
  std::string type;         // "logical" | "globals" | "cluster" (later: "full", "diff", "incr")
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
  std::vector<std::string> options;  // "schema-only", "data-only", "table=...", "exclude-table=..."
  std::vector<ManifestFile> files;
  uint64_t original_bytes() const;
  uint64_t stored_bytes() const;
  bool operator==(const Manifest&) const = default;
};

std::string SerializeManifest(const Manifest& m);
// Malformed (exit 2) naming `origin` when the text is not a manifest of a known format.
Result<Manifest> ParseManifest(const std::string& text, const std::string& origin);

// Backup ids sort by time: "20261122T010203Z-L" (L logical, G globals, C cluster).
std::string BackupId(int64_t epoch_s, const std::string& type);
// The repository layout.
std::string BackupDir(const std::string& id);       // "backups/<id>/"
std::string ManifestPath(const std::string& id);    // "backups/<id>/manifest.json"
std::string Iso8601(int64_t epoch_s);               // "2026-11-22T01:02:03Z"
Result<int64_t> ParseIso8601(const std::string& text);

}  // namespace pgk::repo
