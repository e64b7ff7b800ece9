// The WAL archive's identity file, wal/archive.json: which cluster the archive belongs to
// and the archive's data key. Pure data and JSON, no I/O (src/wal/archive.h reads and
// writes it). Kept in repo/ rather than wal/ so that repository-wide operations (`repo
// rekey` rewraps `wrapped_data_key` here like a manifest's) need not depend on wal/.
//
// Format (docs/repository-format.md, "WAL archive"):
//   {"format": 1, "system_identifier": "7301234567890123456", "wal_segment_size": 16777216,
//    "pg_control_version": 1300, "wal_page_magic": 53520, "created": "2026-11-22T01:02:03Z",
//    "compression": "zstd", "cipher": "aes-256-gcm", "wrapped_data_key": "<80 base64 chars>",
//    "key_id": "<16 hex>"}   (+ "rekey_wrapped_data_key", "rekey_key_id" during a rekey)
// The system identifier is text: it is a uint64 and JSON readers lose precision beyond 2^53.
// `compression` is what new files get; each stored file's name records its own layers.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace pgk::repo {

inline constexpr char kWalArchiveInfoPath[] = "wal/archive.json";
inline constexpr int kWalArchiveFormat = 1;

struct WalArchiveInfo {
  int format = kWalArchiveFormat;
  std::string system_identifier;  // decimal, from pg_control (the cluster's identity)
  uint64_t wal_segment_size = 0;  // bytes; every segment in the archive has this size
  uint32_t pg_control_version = 0;
  uint32_t wal_page_magic = 0;  // XLOG_PAGE_MAGIC of the server version that wrote the WAL
  std::string created;          // ISO 8601 UTC
  std::string compression = "zstd";
  std::string cipher = "none";  // "aes-256-gcm" when the repository is encrypted
  // The archive's data key (one per archive: every WAL file is encrypted with it, each with
  // its own random nonce), wrapped by the repository key; "" when unencrypted.
  std::string wrapped_data_key;
  std::string key_id;  // pipeline::KeyId of the key that wrapped it
  // While `repo rekey` runs: the same data key wrapped by the new key (as in manifests;
  // Repository::UnwrapDataKey accepts either).
  std::string rekey_wrapped_data_key;
  std::string rekey_key_id;
  bool operator==(const WalArchiveInfo&) const = default;
};

std::string SerializeWalArchiveInfo(const WalArchiveInfo& info);
// Malformed (exit 2) naming `origin` when the text is not a WAL archive info of a known format.
Result<WalArchiveInfo> ParseWalArchiveInfo(const std::string& text, const std::string& origin);

}  // namespace pgk::repo
