#include "wal/replication.h"

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "common/interrupt.h"
#include "common/log.h"
#include "wal/segment.h"

namespace pgk::wal {

namespace {

// SQLSTATEs the receiver tells apart.
constexpr char kObjectInUse[] = "55006";      // the slot is active for another walsender
constexpr char kDuplicateObject[] = "42710";  // CREATE of a slot that exists
constexpr char kUndefinedObject[] = "42704";  // DROP of a slot that does not exist
constexpr char kUndefinedFile[] = "58P01";    // START_REPLICATION of WAL the server has removed

uint64_t ToU64(std::string_view s) { return std::strtoull(std::string(s).c_str(), nullptr, 10); }

// What a server says when it will not open a walsender, with what the user can change.
Status ReplicationRefusal(const Status& s) {
  const std::string& m = s.message();
  if (m.find("no pg_hba.conf entry for replication") != std::string::npos ||
      m.find("pg_hba.conf rejects replication") != std::string::npos) {
    return s.WithHint("replication connections need their own pg_hba.conf line (the database field `replication`), "
                      "e.g. `host replication <user> <client address>/32 scram-sha-256`, then reload the server");
  }
  if (m.find("must be superuser or replication role") != std::string::npos ||
      m.find("permission denied to start WAL sender") != std::string::npos) {
    return s.WithHint("the role needs the REPLICATION attribute: ALTER ROLE <user> REPLICATION (as a superuser)");
  }
  if (m.find("max_wal_senders") != std::string::npos) {
    return s.WithHint("every walsender slot is taken: raise max_wal_senders (restart) or stop another replication client");
  }
  return s;
}

uint64_t ParseOrZero(const char* lsn) {
  auto v = ParseLsn(lsn);
  return v.ok() ? *v : 0;
}

}  // namespace

Status ValidateSlotName(const std::string& slot) {
  bool ok = !slot.empty() && slot.size() <= 63;
  for (char c : slot) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (ok) return Status::Ok();
  return Status::InvalidArgument("invalid replication slot name '" + slot + "'",
                                 "use lowercase letters, digits and underscores (at most 63)");
}

Result<ReplicationConnection> ReplicationConnection::Connect(const std::string& conninfo,
                                                             const std::string& application_name,
                                                             int connect_timeout_s) {
  pg::ConnectOptions o{
      .application_name = application_name, .connect_timeout_s = connect_timeout_s, .replication = "true"};
  auto conn = pg::Connection::Connect(conninfo, o);
  if (!conn.ok()) return ReplicationRefusal(conn.status());
  return ReplicationConnection(std::move(conn).value());
}

Result<SystemIdentity> ReplicationConnection::IdentifySystem() {
  PGK_ASSIGN_OR_RETURN(auto r, conn_.SimpleQuery("IDENTIFY_SYSTEM"));
  if (r.rows() != 1 || r.cols() < 3) return Status::Query("IDENTIFY_SYSTEM returned an unexpected result");
  SystemIdentity id;
  id.system_identifier = ToU64(r.Get(0, 0));
  id.timeline = static_cast<uint32_t>(r.GetInt(0, 1));
  PGK_ASSIGN_OR_RETURN(id.flush_lsn, ParseLsn(r.Get(0, 2)));
  return id;
}

Result<uint64_t> ReplicationConnection::SegmentSize() {
  PGK_ASSIGN_OR_RETURN(auto r, conn_.SimpleQuery("SHOW wal_segment_size"));
  if (r.rows() != 1) return Status::Query("SHOW wal_segment_size returned no row");
  // "16MB", "1GB": the server's own unit formatting.
  std::string v = r.GetString(0, 0);
  uint64_t n = std::strtoull(v.c_str(), nullptr, 10);
  if (v.ends_with("GB"))
    n <<= 30;
  else if (v.ends_with("MB"))
    n <<= 20;
  else if (v.ends_with("kB"))
    n <<= 10;
  if (!ValidSegmentSize(n)) return Status::Query("the server reports an invalid wal_segment_size '" + v + "'");
  return n;
}

Result<SlotInfo> ReplicationConnection::ReadSlot(const std::string& slot) {
  SlotInfo info;
  if (server_version() < 150000) {
    info.exists = true;
    return info;
  }
  PGK_ASSIGN_OR_RETURN(auto r, conn_.SimpleQuery("READ_REPLICATION_SLOT " + slot));
  if (r.rows() != 1 || r.IsNull(0, 0)) return info;
  if (r.Get(0, 0) != "physical") {
    return Status::Refused("replication slot " + slot + " is a " + r.GetString(0, 0) + " slot",
                           "wal-receive needs a physical slot: pass another --slot name");
  }
  info.exists = true;
  if (!r.IsNull(0, 1)) {
    PGK_ASSIGN_OR_RETURN(uint64_t lsn, ParseLsn(r.Get(0, 1)));
    if (lsn != 0) info.restart_lsn = lsn;
  }
  if (!r.IsNull(0, 2)) info.restart_timeline = static_cast<uint32_t>(r.GetInt(0, 2));
  return info;
}

Status ReplicationConnection::CreateSlot(const std::string& slot) {
  // The pre-15 syntax, which every supported server still accepts.
  auto r = conn_.SimpleQuery("CREATE_REPLICATION_SLOT " + slot + " PHYSICAL RESERVE_WAL");
  if (r.ok() || conn_.last_error().sqlstate == kDuplicateObject) return Status::Ok();
  return r.status().WithContext("creating replication slot " + slot);
}

Status ReplicationConnection::DropSlot(const std::string& slot) {
  auto r = conn_.SimpleQuery("DROP_REPLICATION_SLOT " + slot);
  if (r.ok()) return Status::Ok();
  if (conn_.last_error().sqlstate == kUndefinedObject) {
    return Status::NotFound("replication slot " + slot + " does not exist");
  }
  if (conn_.last_error().sqlstate == kObjectInUse) {
    return Status::Refused("replication slot " + slot + " is in use",
                           "stop the wal-receive that streams from it first");
  }
  return r.status().WithContext("dropping replication slot " + slot);
}

Result<std::pair<std::string, std::string>> ReplicationConnection::TimelineHistory(uint32_t timeline) {
  PGK_ASSIGN_OR_RETURN(auto r, conn_.SimpleQuery("TIMELINE_HISTORY " + std::to_string(timeline)));
  if (r.rows() != 1 || r.cols() < 2) return Status::Query("TIMELINE_HISTORY returned an unexpected result");
  // The content column is declared bytea but sent as the file's raw bytes.
  return std::make_pair(r.GetString(0, 0), r.GetString(0, 1));
}

Status ReplicationConnection::StartStream(const std::string& slot, uint64_t lsn, uint32_t timeline) {
  std::string sql = "START_REPLICATION ";
  if (!slot.empty()) sql += "SLOT " + slot + " ";
  sql += "PHYSICAL " + FormatLsn(lsn) + " TIMELINE " + std::to_string(timeline);
  auto r = conn_.SimpleQuery(sql);
  if (r.ok()) return Status::Ok();
  if (conn_.last_error().sqlstate == kObjectInUse) {
    return Status::Refused("replication slot " + slot + " is in use by another receiver: " + conn_.last_error().message,
                           "run one wal-receive per slot (or pass another --slot)");
  }
  if (conn_.last_error().sqlstate == kUndefinedFile) {
    return Status::NotFound("the server no longer has the WAL at " + FormatLsn(lsn) + ": " +
                            conn_.last_error().message);
  }
  return r.status().WithContext("starting replication at " + FormatLsn(lsn) + " on timeline " +
                                std::to_string(timeline));
}

Status ReplicationConnection::StreamError(const std::string& what) {
  // libpq's first line says what happened; the rest guesses at why.
  std::string msg = PQerrorMessage(conn_.raw());
  msg = msg.substr(0, msg.find('\n'));
  return Status::Connection(what + " " + display() + ": " + msg,
                            "the server may have restarted or the network dropped");
}

Status ReplicationConnection::Receive(std::string* message, bool* ended, int timeout_ms) {
  message->clear();
  *ended = false;
  PGconn* c = conn_.raw();
  for (int pass = 0; pass < 2; ++pass) {
    char* buf = nullptr;
    int n = PQgetCopyData(c, &buf, /*async=*/1);
    if (n > 0) {
      message->assign(buf, static_cast<size_t>(n));
      PQfreemem(buf);
      return Status::Ok();
    }
    if (n == -1) {
      *ended = true;
      return Status::Ok();
    }
    if (n == -2) return StreamError("lost the replication stream from");
    if (pass == 1) break;
    // Nothing buffered: wait for the socket, then read what arrived.
    pollfd p{.fd = PQsocket(c), .events = POLLIN, .revents = 0};
    int ready = ::poll(&p, 1, timeout_ms);
    if (ready == 0) return Status::Ok();
    if (ready < 0 && errno != EINTR) return Status::IO("poll on the replication connection failed");
    if (PQconsumeInput(c) == 0) return StreamError("lost the replication stream from");
  }
  return Status::Ok();
}

Status ReplicationConnection::Send(const std::string& message) {
  PGconn* c = conn_.raw();
  if (PQputCopyData(c, message.data(), static_cast<int>(message.size())) != 1 || PQflush(c) != 0) {
    return StreamError("cannot send to");
  }
  return Status::Ok();
}

Result<StreamEnd> ReplicationConnection::EndStream(bool we_stop) {
  PGconn* c = conn_.raw();
  StreamEnd end;
  if (we_stop) {
    if (PQputCopyEnd(c, nullptr) != 1 || PQflush(c) != 0) return StreamError("cannot end the stream with");
    // The server answers with the rest of what it had sent and its own CopyDone; a dead
    // server must not hold up a stop for long.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::string ignored;
    bool ended = false;
    while (!ended && std::chrono::steady_clock::now() < deadline) {
      PGK_RETURN_IF_ERROR(Receive(&ignored, &ended, 100));
    }
    if (!ended) return end;
  }
  PGresult* res = PQgetResult(c);
  if (res && PQresultStatus(res) == PGRES_COPY_IN) {
    // The server closed its half; close ours to get its final results.
    PQclear(res);
    if (PQputCopyEnd(c, nullptr) != 1 || PQflush(c) != 0) return StreamError("cannot end the stream with");
    res = PQgetResult(c);
  }
  Status error;
  while (res) {
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) >= 2) {
      end.timeline_ended = true;
      end.next_timeline = static_cast<uint32_t>(std::strtoul(PQgetvalue(res, 0, 0), nullptr, 10));
      auto lsn = ParseLsn(PQgetvalue(res, 0, 1));
      if (!lsn.ok())
        error = lsn.status();
      else
        end.next_start = *lsn;
    } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && error.ok()) {
      std::string msg = PQresultErrorMessage(res);
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      error = Status::Connection("the replication stream from " + display() + " ended with an error: " + msg);
    }
    PQclear(res);
    res = PQgetResult(c);
  }
  if (!error.ok()) return error;
  return end;
}

Status ReplicationConnection::SendBaseBackup(const std::string& command) {
  // Not SimpleQuery: the command answers with two result sets and then a CopyOut, and
  // PQexec would keep only the last of them.
  if (PQsendQuery(conn_.raw(), command.c_str()) != 1) return StreamError("cannot send BASE_BACKUP to");
  return Status::Ok();
}

Result<BaseBackupStart> ReplicationConnection::ReadBaseBackupStart() {
  PGconn* c = conn_.raw();
  BaseBackupStart start;
  int sets = 0;
  for (;;) {
    PGresult* res = PQgetResult(c);
    if (!res) return Status::Connection("the server ended BASE_BACKUP before sending data (" + display() + ")");
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COPY_OUT) {
      PQclear(res);
      if (sets < 2) return Status::Query("the server started the base backup's data without its start position");
      return start;
    }
    if (st == PGRES_TUPLES_OK) {
      if (sets == 0 && PQntuples(res) == 1 && PQnfields(res) >= 2) {
        start.lsn = ParseOrZero(PQgetvalue(res, 0, 0));
        start.timeline = static_cast<uint32_t>(std::strtoul(PQgetvalue(res, 0, 1), nullptr, 10));
      } else if (sets == 1) {
        // spcoid, spclocation, size; the main data directory may come as a row of NULLs.
        for (int i = 0; i < PQntuples(res); ++i) {
          if (PQgetisnull(res, i, 0)) continue;
          start.tablespaces.push_back({static_cast<uint32_t>(std::strtoul(PQgetvalue(res, i, 0), nullptr, 10)),
                                       PQgetvalue(res, i, 1)});
        }
      }
      ++sets;
      PQclear(res);
      continue;
    }
    std::string msg = PQresultErrorMessage(res);
    PQclear(res);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    // Drain the rest so that the connection stays usable for the caller's cleanup.
    while (PGresult* more = PQgetResult(c)) PQclear(more);
    return Status::Query("BASE_BACKUP on " + display() + " failed: " + msg,
                         "the server's log has the details; wal_level must be replica or logical");
  }
}

Result<bool> ReplicationConnection::NextBaseBackupData(std::string* raw) {
  for (;;) {
    bool ended = false;
    PGK_RETURN_IF_ERROR(Receive(raw, &ended, 1000));
    if (ended) return false;
    if (!raw->empty()) return true;
    if (Interrupted()) return Status::Interrupted("the backup was interrupted");
  }
}

Result<BaseBackupEnd> ReplicationConnection::ReadBaseBackupEnd() {
  PGconn* c = conn_.raw();
  BaseBackupEnd end;
  bool have_end = false;
  while (PGresult* res = PQgetResult(c)) {
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) >= 2 && !have_end) {
      end.lsn = ParseOrZero(PQgetvalue(res, 0, 0));
      end.timeline = static_cast<uint32_t>(std::strtoul(PQgetvalue(res, 0, 1), nullptr, 10));
      have_end = end.lsn != 0;
    } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && end.error_message.empty()) {
      const char* code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      end.error_sqlstate = code ? code : "";
      end.error_message = PQresultErrorMessage(res);
      while (!end.error_message.empty() && end.error_message.back() == '\n') end.error_message.pop_back();
    }
    PQclear(res);
  }
  if (PQstatus(c) == CONNECTION_BAD) return StreamError("lost the base backup stream from");
  if (!have_end && end.error_message.empty()) {
    return Status::Query("the server ended the base backup without its end position (" + display() + ")");
  }
  return end;
}

}  // namespace pgk::wal
