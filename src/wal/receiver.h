// `wal-receive`: a long-running WAL receiver over the streaming replication protocol,
// with a physical replication slot, as pg_receivewal is. Completed segments are archived
// through the same path as wal-push (Archive::Push: digest, compression, encryption,
// idempotent, never an overwrite); the segment being received is kept in the spool
// (receive_spool.h).
//
// What the receiver reports to the server as flushed (what the slot keeps WAL for, and
// what synchronous replication waits on):
//   - default: the start of the oldest segment not yet in the archive. The server keeps
//     every segment until it is stored in the repository, so a crash of the receiver, its
//     host or the repository loses nothing the server still has.
//   - synchronous: what is fsynced in the spool, reported right after each fsync. With the
//     receiver in synchronous_standby_names a commit returns only once its WAL is on the
//     spool's disk: a recovery point objective of zero.
// The apply position is never reported (0): a receiver applies nothing.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "repo/repository.h"
#include "wal/archive.h"
#include "wal/receive_spool.h"

namespace pgk::wal {

struct ReceiveOptions {
  std::string conninfo;  // the server, as the user gave it (replication=true is added)
  std::string application_name = "pgkeeper";
  std::string slot = "pgkeeper";
  bool create_slot = true;  // create the slot when it does not exist (else Refused)
  bool synchronous = false;
  int status_interval_s = 10;
  // Reconnect (with backoff, 1 s doubling to 30 s) when the server goes away; false: fail.
  bool loop = true;
  int connect_timeout_s = 10;
  PushOptions push;
  // Polled a few times a second: true ends the receiver cleanly (partial fsynced, final
  // status sent). Called from the receiving thread.
  std::function<bool()> stop_requested;
};

// Runs until stop_requested() (OK) or a problem that reconnecting cannot solve:
// Refused when the repository's archive belongs to another cluster ("two clusters
// writing one repository"), when the slot is missing and create_slot is false, when the
// slot stays in use by another receiver, or when a segment is archived with other
// contents; connection and server errors only with loop = false.
Status Receive(repo::Repository& repo, const ReceiveSpool& spool, const ReceiveOptions& options);

}  // namespace pgk::wal
