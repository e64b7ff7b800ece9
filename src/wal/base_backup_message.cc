#include "wal/base_backup_message.h"

#include <cstring>

namespace pgk::wal {

namespace {

// A NUL-terminated string at `*pos`; false when the message ends first.
bool CString(std::string_view raw, size_t* pos, std::string* out) {
  size_t end = raw.find('\0', *pos);
  if (end == std::string_view::npos) return false;
  out->assign(raw.substr(*pos, end - *pos));
  *pos = end + 1;
  return true;
}

}  // namespace

Result<BaseBackupMessage> DecodeBaseBackupMessage(std::string_view raw) {
  if (raw.empty()) return Status::Malformed("an empty message in the base backup stream");
  BaseBackupMessage m;
  switch (raw[0]) {
    case 'n': {
      m.kind = BaseBackupMessage::Kind::kNewArchive;
      size_t pos = 1;
      if (!CString(raw, &pos, &m.archive) || !CString(raw, &pos, &m.location)) {
        return Status::Malformed("a cut-short new-archive message in the base backup stream");
      }
      return m;
    }
    case 'd':
      m.kind = BaseBackupMessage::Kind::kData;
      m.data = raw.substr(1);
      return m;
    case 'p': {
      if (raw.size() != 9) return Status::Malformed("a progress message of the wrong size in the base backup stream");
      m.kind = BaseBackupMessage::Kind::kProgress;
      for (size_t i = 1; i < 9; ++i) m.progress = (m.progress << 8) | static_cast<unsigned char>(raw[i]);
      return m;
    }
    case 'm':
      m.kind = BaseBackupMessage::Kind::kManifest;
      return m;
    default:
      return Status::Malformed(std::string("unknown message type '") + raw[0] + "' in the base backup stream",
                               "the server speaks a newer base backup protocol than this pgkeeper");
  }
}

std::string BaseBackupCommand(const std::string& label, bool fast_checkpoint) {
  std::string quoted;
  for (char c : label) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return "BASE_BACKUP (LABEL '" + quoted + "', CHECKPOINT '" + (fast_checkpoint ? "fast" : "spread") +
         "', WAL false, WAIT false, MANIFEST 'no', TABLESPACE_MAP true, PROGRESS false, VERIFY_CHECKSUMS true)";
}

}  // namespace pgk::wal
