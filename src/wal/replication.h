// A physical replication connection (walsender mode) through libpq: the replication
// commands `wal-receive` needs, the CopyBoth stream of START_REPLICATION, and the CopyOut
// stream of BASE_BACKUP (physical backups over the replication protocol). The only file
// that speaks libpq's copy API; the streams' messages are in receive_protocol.h and
// base_backup_message.h. Not thread-safe: one thread owns a ReplicationConnection.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"
#include "wal/base_backup_message.h"

namespace pgk::wal {

struct SystemIdentity {
  uint64_t system_identifier = 0;
  uint32_t timeline = 0;
  uint64_t flush_lsn = 0;  // xlogpos: the server's WAL flushed so far
};

struct SlotInfo {
  bool exists = false;
  std::optional<uint64_t> restart_lsn;  // nullopt when the slot reserves no WAL yet
  std::optional<uint32_t> restart_timeline;
};

// How a CopyBoth stream ended (the server's CopyDone).
struct StreamEnd {
  // The timeline ended (the server was promoted, or follows a newer timeline): continue
  // on `next_timeline` from `next_start`. Otherwise the server is shutting down.
  bool timeline_ended = false;
  uint32_t next_timeline = 0;
  uint64_t next_start = 0;
};

// What the server answers to BASE_BACKUP before its data: where the backup starts (after
// the checkpoint) and the tablespaces it will send, one archive each.
struct BaseBackupTablespace {
  uint32_t oid = 0;
  std::string location;
};
struct BaseBackupStart {
  uint64_t lsn = 0;
  uint32_t timeline = 0;
  std::vector<BaseBackupTablespace> tablespaces;  // the main data directory is not listed
};
// And after it: where the backup ends, and the error the server raised at the very end,
// if any (it raises one, with SQLSTATE XX001, after sending everything when pages failed
// their checksum; the WARNINGs before it name the files and blocks).
struct BaseBackupEnd {
  uint64_t lsn = 0;
  uint32_t timeline = 0;
  std::string error_sqlstate;  // "" when the command succeeded
  std::string error_message;
};

class ReplicationConnection {
 public:
  // `conninfo` as the user gave it; replication=true is added. Connection errors carry
  // a masked description of the target, never the password.
  static Result<ReplicationConnection> Connect(const std::string& conninfo, const std::string& application_name,
                                               int connect_timeout_s);

  Result<SystemIdentity> IdentifySystem();
  Result<uint64_t> SegmentSize();  // SHOW wal_segment_size
  // READ_REPLICATION_SLOT (PostgreSQL 15+); on older servers `exists` is taken as true
  // and the position as unknown, so that the slot is used but not consulted.
  Result<SlotInfo> ReadSlot(const std::string& slot);
  // A physical slot that reserves WAL from now on. Succeeds when it exists already.
  Status CreateSlot(const std::string& slot);
  Status DropSlot(const std::string& slot);
  // TIMELINE_HISTORY: the file's name and contents.
  Result<std::pair<std::string, std::string>> TimelineHistory(uint32_t timeline);

  // START_REPLICATION [SLOT s] PHYSICAL lsn TIMELINE tli; the connection is then in
  // CopyBoth mode until EndStream. NotFound when the server has removed that WAL;
  // Refused when another walsender holds the slot.
  Status StartStream(const std::string& slot, uint64_t lsn, uint32_t timeline);
  // The next message of the stream. Returns:
  //   a message (non-empty)            -> `*message` holds it
  //   empty, *ended false              -> nothing arrived within `timeout_ms`
  //   empty, *ended true               -> the server ended the stream: call EndStream
  // Connection for a dropped connection or a server error.
  Status Receive(std::string* message, bool* ended, int timeout_ms);
  Status Send(const std::string& message);
  // Finishes the CopyBoth exchange after the server's CopyDone (or ours, when we stop
  // first: `we_stop`), reading what the server sends after it.
  Result<StreamEnd> EndStream(bool we_stop);

  // BASE_BACKUP (wal/base_backup_message.h: BaseBackupCommand): waits for the checkpoint
  // and returns what the server says before its data; the CopyOut stream follows.
  Status SendBaseBackup(const std::string& command);
  Result<BaseBackupStart> ReadBaseBackupStart();
  // The next CopyData of the stream into `*raw` (decode it with DecodeBaseBackupMessage);
  // false when the server ended the stream. Interrupted on SIGINT/SIGTERM.
  Result<bool> NextBaseBackupData(std::string* raw);
  // After the stream: the end position and the server's final error, if any.
  Result<BaseBackupEnd> ReadBaseBackupEnd();

  // Server notices and warnings (BASE_BACKUP's checksum failures come as WARNINGs).
  void OnNotice(std::function<void(const pg::Notice&)> handler) { conn_.OnNotice(std::move(handler)); }

  const std::string& display() const { return conn_.display(); }
  int server_version() const { return conn_.server_version(); }

 private:
  explicit ReplicationConnection(pg::Connection conn) : conn_(std::move(conn)) {}
  Status StreamError(const std::string& what);

  pg::Connection conn_;
};

// Slot names are lowercase letters, digits and underscores (at most 63): what PostgreSQL
// accepts, so they need no quoting in replication commands.
Status ValidateSlotName(const std::string& slot);

}  // namespace pgk::wal
