// The messages of a BASE_BACKUP copy stream (PostgreSQL 15+, the protocol selected by the
// parenthesised option syntax): every CopyData starts with a type byte. Pure decoding, so
// that the stream's framing is unit-tested without a server.
//   'n' a new archive starts: its name ("base.tar", "<oid>.tar") and the tablespace's
//       location ("" for the main data directory);
//   'd' data of the current archive (or of the manifest after 'm');
//   'p' progress: bytes the server has sent so far (an Int64);
//   'm' the backup manifest follows.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pgk::wal {

struct BaseBackupMessage {
  enum class Kind { kNewArchive, kData, kProgress, kManifest };
  Kind kind = Kind::kData;
  std::string archive;    // kNewArchive
  std::string location;   // kNewArchive: "" for the main data directory
  std::string_view data;  // kData: points into the decoded buffer
  uint64_t progress = 0;  // kProgress
};

// Malformed for an unknown type byte or a message cut short. `raw` must outlive the
// result's `data`.
Result<BaseBackupMessage> DecodeBaseBackupMessage(std::string_view raw);

// The BASE_BACKUP command: a fast or spread checkpoint, checksums verified by the server,
// no WAL (the repository's archive provides it), no waiting for archiving (pgkeeper waits
// for its own archive, with a timeout), no manifest (pgkeeper writes its own) and the
// tablespace_map file in the main archive.
std::string BaseBackupCommand(const std::string& label, bool fast_checkpoint);

}  // namespace pgk::wal
