// The receiver's loop: connect, check identity, choose the start, stream, reconnect.
#include "wal/receiver.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <tuple>

#include "common/fs.h"
#include "common/log.h"
#include "wal/receive_protocol.h"
#include "wal/receive_push.h"
#include "wal/receive_start.h"
#include "wal/replication.h"

namespace pgk::wal {

namespace {

using Clock = std::chrono::steady_clock;

// Within this long after starting, a slot held by another walsender is taken for the
// leftover of a receiver that was just killed (the server notices the dead connection
// after a moment) and retried; after it, for another receiver, and refused.
constexpr auto kSlotBusyGrace = std::chrono::seconds(15);
// In synchronous mode, fsync at least this often while data keeps arriving, so that a
// steady stream cannot hold back every commit waiting for it.
constexpr uint64_t kSyncEveryBytes = 1 << 20;

bool Retryable(const Status& s) {
  switch (s.code()) {
    case Code::kConnection:
    case Code::kQuery:
    case Code::kTimeout:
    case Code::kIO:
      return true;
    default:
      return false;
  }
}

bool SlotBusy(const Status& s) {
  return s.code() == Code::kRefused && s.message().find("is in use by another receiver") != std::string::npos;
}

class Receiver {
 public:
  Receiver(repo::Repository& repo, const ReceiveSpool& spool, const ReceiveOptions& o)
      : repo_(repo), spool_(spool), o_(o), started_(Clock::now()) {}
  ~Receiver() {
    if (pusher_) pusher_->Stop();
  }
  Status Run();

 private:
  bool Stopping() const { return o_.stop_requested && o_.stop_requested(); }
  Status Session(bool* streamed);
  Status CheckIdentity(const SystemIdentity& id);
  Status PrepareSlot(ReplicationConnection& conn, SlotInfo* slot);
  Result<StartPoint> Start(const SystemIdentity& id, const SlotInfo& slot);
  Status EnsureHistory(ReplicationConnection& conn, uint32_t timeline);
  void ForgetArchivedPartials(const StartPoint& start);
  // Streams from `start` until we stop (*stopped) or the server ends the stream (*end).
  Status Stream(ReplicationConnection& conn, const StartPoint& start, bool* stopped, StreamEnd* end);
  Status OnData(uint64_t start, std::string_view data);
  Status SyncPartial();
  Status SendStatus(ReplicationConnection& conn);
  uint64_t FlushPosition() const;
  WalFile SegmentAt(uint64_t lsn) const {
    uint64_t segno = SegmentOf(lsn, segment_size_);
    return {.kind = WalFileKind::kSegment,
            .timeline = timeline_,
            .segno = segno,
            .name = SegmentFileName(timeline_, segno, segment_size_)};
  }

  repo::Repository& repo_;
  const ReceiveSpool& spool_;
  const ReceiveOptions& o_;
  Clock::time_point started_;
  std::unique_ptr<SpoolPusher> pusher_;
  uint64_t system_identifier_ = 0;
  uint64_t segment_size_ = 0;
  uint32_t timeline_ = 0;
  uint64_t pos_ = 0;     // the next byte expected
  uint64_t synced_ = 0;  // fsynced in the spool up to here
  std::unique_ptr<PartialSegment> partial_;
};

Status Receiver::Run() {
  int backoff_s = 1;
  bool ever_streamed = false;
  std::string last_logged;
  for (;;) {
    bool streamed = false;
    Status s = Session(&streamed);
    // Whatever happened, what was received is made durable before anything else.
    if (partial_) {
      Status sync = partial_->Sync();
      if (!sync.ok() && s.ok()) s = sync;
      partial_.reset();
    }
    if (pusher_ && !pusher_->fatal().ok()) return pusher_->fatal();
    if (Stopping()) return Status::Ok();
    if (s.ok()) {
      s = Status::Connection("the server ended replication (it is shutting down)");
    }
    ever_streamed = ever_streamed || streamed;
    bool retry = Retryable(s) || (SlotBusy(s) && (ever_streamed || Clock::now() - started_ < kSlotBusyGrace));
    if (!retry || !o_.loop) return s;
    if (streamed) {  // a new outage: start the backoff over and log its first failure
      backoff_s = 1;
      last_logged.clear();
    }
    if (s.message() != last_logged && !(SlotBusy(s) && !ever_streamed)) {
      log::Warn("{}; reconnecting (retrying every {} s at most)", s.message(), 30);
      last_logged = s.message();
    }
    auto until = Clock::now() + std::chrono::seconds(backoff_s);
    while (Clock::now() < until) {
      if (Stopping()) return Status::Ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    backoff_s = std::min(backoff_s * 2, 30);
  }
}

Status Receiver::CheckIdentity(const SystemIdentity& id) {
  auto archive = Archive::Open(repo_);
  if (!archive.ok()) return archive.status().code() == Code::kNotFound ? Status::Ok() : archive.status();
  const auto& info = (*archive)->info();
  if (info.system_identifier != std::to_string(id.system_identifier)) {
    return Status::Refused("the WAL archive in " + repo_.Url() + " belongs to the cluster with system identifier " +
                               info.system_identifier + ", not to the server streamed from (" +
                               std::to_string(id.system_identifier) + "): two clusters writing one repository",
                           "give each cluster its own repository (or prefix); a new cluster (initdb, pg_upgrade) "
                           "needs a new one too");
  }
  if (info.wal_segment_size != segment_size_) {
    return Status::Refused("the WAL archive in " + repo_.Url() + " holds " + std::to_string(info.wal_segment_size) +
                           "-byte segments, the server writes " + std::to_string(segment_size_) + "-byte ones");
  }
  return Status::Ok();
}

Status Receiver::PrepareSlot(ReplicationConnection& conn, SlotInfo* slot) {
  PGK_ASSIGN_OR_RETURN(*slot, conn.ReadSlot(o_.slot));
  if (slot->exists) return Status::Ok();
  if (!o_.create_slot) {
    return Status::Refused("replication slot " + o_.slot + " does not exist on " + conn.display(),
                           "create it with `pgkeeper wal-receive --create-slot`, or run without --no-create-slot");
  }
  PGK_RETURN_IF_ERROR(conn.CreateSlot(o_.slot));
  log::Info("created the physical replication slot {}", o_.slot);
  PGK_ASSIGN_OR_RETURN(*slot, conn.ReadSlot(o_.slot));
  return Status::Ok();
}

Result<StartPoint> Receiver::Start(const SystemIdentity& id, const SlotInfo& slot) {
  StartInputs in{.segment_size = segment_size_, .server_timeline = id.timeline, .server_lsn = id.flush_lsn};
  for (const auto& p : spool_.Partials(segment_size_)) {
    if (p.timeline <= id.timeline) in.spool_partial = p;
  }
  // What ready/ holds will be archived: it counts as archived here.
  std::vector<WalFile> done;
  for (const auto& n : spool_.Ready(segment_size_)) {
    if (auto f = ParseWalFileName(n, segment_size_); f.ok()) done.push_back(*f);
  }
  auto archive = Archive::Open(repo_);
  if (archive.ok()) {
    PGK_ASSIGN_OR_RETURN(auto files, (*archive)->List());
    for (auto& f : files) done.push_back(f.file);
  } else if (archive.status().code() != Code::kNotFound) {
    return archive.status();
  }
  for (const auto& f : done) {
    if (f.kind != WalFileKind::kSegment || f.timeline > id.timeline) continue;
    if (!in.archive_newest ||
        std::tie(f.timeline, f.segno) > std::tie(in.archive_newest->timeline, in.archive_newest->segno)) {
      in.archive_newest = f;
    }
  }
  in.slot_restart_lsn = slot.restart_lsn;
  in.slot_restart_timeline = slot.restart_timeline;
  return ChooseStart(in);
}

Status Receiver::EnsureHistory(ReplicationConnection& conn, uint32_t timeline) {
  if (timeline <= 1) return Status::Ok();
  std::string name = HistoryFileName(timeline);
  auto ready = spool_.ready_dir() / name;
  if (std::filesystem::exists(ready)) return Status::Ok();
  if (auto archive = Archive::Open(repo_); archive.ok()) {
    PGK_ASSIGN_OR_RETURN(auto found, (*archive)->Find(name));
    if (found) return Status::Ok();
  }
  PGK_ASSIGN_OR_RETURN(auto history, conn.TimelineHistory(timeline));
  if (history.first != name) {
    return Status::Query("TIMELINE_HISTORY " + std::to_string(timeline) + " returned " + history.first);
  }
  PGK_RETURN_IF_ERROR(ParseTimelineHistory(history.second).status());
  PGK_RETURN_IF_ERROR(fs::WriteFile(ready, history.second));
  log::Info("received the history of timeline {}", timeline);
  if (pusher_) pusher_->Wake();
  return Status::Ok();
}

void Receiver::ForgetArchivedPartials(const StartPoint& start) {
  std::string resumed = SegmentFileName(start.timeline, SegmentOf(start.lsn, segment_size_), segment_size_);
  auto archive = Archive::Open(repo_);
  for (const auto& p : spool_.Partials(segment_size_)) {
    if (p.name == resumed) continue;
    // Left behind when the start moved past it (the archive got the whole segment from
    // archive_command meanwhile). Only a segment the archive holds is forgotten.
    auto found = archive.ok() ? (*archive)->Find(p.name) : Result<std::optional<StoredWal>>(std::nullopt);
    if (found.ok() && found->has_value()) {
      std::error_code ec;
      std::filesystem::remove(spool_.PartialPath(p), ec);
      log::Debug("removed {}.partial from the spool: the archive holds the segment", p.name);
    } else {
      log::Warn("keeping {} in the spool: an unfinished segment the archive does not hold", p.name + ".partial");
    }
  }
}

Status Receiver::Session(bool* streamed) {
  PGK_ASSIGN_OR_RETURN(auto conn,
                       ReplicationConnection::Connect(o_.conninfo, o_.application_name, o_.connect_timeout_s));
  PGK_ASSIGN_OR_RETURN(SystemIdentity id, conn.IdentifySystem());
  PGK_ASSIGN_OR_RETURN(segment_size_, conn.SegmentSize());
  if (system_identifier_ != 0 && system_identifier_ != id.system_identifier) {
    return Status::Refused("the server at " + conn.display() + " is now another cluster (system identifier " +
                           std::to_string(id.system_identifier) + ", was " + std::to_string(system_identifier_) + ")");
  }
  PGK_RETURN_IF_ERROR(CheckIdentity(id));
  system_identifier_ = id.system_identifier;
  if (!pusher_) {
    pusher_ = std::make_unique<SpoolPusher>(
        repo_, spool_, ClusterIdentity{.system_identifier = id.system_identifier, .wal_segment_size = segment_size_},
        o_.push);
  }
  SlotInfo slot;
  PGK_RETURN_IF_ERROR(PrepareSlot(conn, &slot));
  PGK_RETURN_IF_ERROR(EnsureHistory(conn, id.timeline));
  PGK_ASSIGN_OR_RETURN(StartPoint start, Start(id, slot));
  ForgetArchivedPartials(start);
  for (;;) {
    Status started = conn.StartStream(o_.slot, start.lsn, start.timeline);
    if (started.code() == Code::kNotFound && (start.source == "spool" || start.source == "archive")) {
      // What follows the archive is gone from the server (the slot was dropped and made
      // again, or lost past max_slot_wal_keep_size). Waiting cannot bring it back, and
      // every minute spent waiting is WAL the server removes too: say so loudly, and
      // continue from what the server has.
      StartInputs in{.segment_size = segment_size_, .server_timeline = id.timeline, .server_lsn = id.flush_lsn};
      in.slot_restart_lsn = slot.restart_lsn;
      in.slot_restart_timeline = slot.restart_timeline;
      StartPoint from = ChooseStart(in);
      log::Error(
          "{}; the archive has a gap from {} to {}: take a new physical backup, point-in-time recovery "
          "cannot cross it",
          started.message(), FormatLsn(start.lsn), FormatLsn(from.lsn));
      start = from;
      started = conn.StartStream(o_.slot, start.lsn, start.timeline);
    }
    PGK_RETURN_IF_ERROR(started);
    *streamed = true;
    log::Info("streaming from {} on timeline {} ({}) as {}{}", FormatLsn(start.lsn), start.timeline, start.source,
              o_.application_name, o_.synchronous ? ", synchronous" : "");
    bool stopped = false;
    StreamEnd end;
    PGK_RETURN_IF_ERROR(Stream(conn, start, &stopped, &end));
    if (stopped) return Status::Ok();
    if (!end.timeline_ended) return Status::Ok();  // the server shuts down: Run reconnects
    if (end.next_timeline <= timeline_) {
      return Status::Query("the server switched from timeline " + std::to_string(timeline_) + " to " +
                           std::to_string(end.next_timeline) + ", which is not newer");
    }
    if (partial_) {
      // The rest of this segment belongs to the next timeline (in a file of its name).
      PGK_RETURN_IF_ERROR(partial_->EndOfTimeline());
      partial_.reset();
      pusher_->Wake();
    }
    log::Info("timeline {} ended at {}; following timeline {}", timeline_, FormatLsn(end.next_start),
              end.next_timeline);
    PGK_RETURN_IF_ERROR(EnsureHistory(conn, end.next_timeline));
    start = {end.next_timeline, SegmentStartLsn(SegmentOf(end.next_start, segment_size_), segment_size_),
             "timeline switch"};
  }
}

Status Receiver::Stream(ReplicationConnection& conn, const StartPoint& start, bool* stopped, StreamEnd* end) {
  timeline_ = start.timeline;
  pos_ = synced_ = start.lsn;
  auto interval = std::chrono::seconds(std::max(o_.status_interval_s, 1));
  auto last_status = Clock::now();
  bool need_status = true;  // at once: the server lists the receiver (and its sync state) from the first one
  uint64_t unsynced = 0;
  uint64_t archived_seen = pusher_->archived();
  std::string msg;
  int wait_ms = 0;
  for (;;) {
    if (Stopping()) {
      PGK_RETURN_IF_ERROR(SyncPartial());
      PGK_RETURN_IF_ERROR(SendStatus(conn));
      *stopped = true;
      auto e = conn.EndStream(/*we_stop=*/true);
      if (!e.ok()) log::Debug("ending the stream: {}", e.status().message());
      return Status::Ok();
    }
    PGK_RETURN_IF_ERROR(pusher_->fatal());
    bool ended = false;
    PGK_RETURN_IF_ERROR(conn.Receive(&msg, &ended, wait_ms));
    if (ended) {
      PGK_RETURN_IF_ERROR(SyncPartial());
      PGK_ASSIGN_OR_RETURN(*end, conn.EndStream(/*we_stop=*/false));
      return Status::Ok();
    }
    bool drained = msg.empty();
    if (!drained) {
      PGK_ASSIGN_OR_RETURN(auto m, replication::ParseMessage(msg));
      if (auto* d = std::get_if<replication::XLogData>(&m)) {
        uint64_t before = pos_;
        PGK_RETURN_IF_ERROR(OnData(d->start, d->data));
        unsynced += pos_ - before;
      } else if (std::get<replication::Keepalive>(m).reply_requested) {
        need_status = true;
      }
    }
    // Look for more at once while messages keep coming; wait (briefly, to notice a stop)
    // only when there is nothing left.
    wait_ms = drained ? 100 : 0;
    if (o_.synchronous && pos_ != synced_ && (drained || unsynced >= kSyncEveryBytes)) {
      PGK_RETURN_IF_ERROR(SyncPartial());
      unsynced = 0;
      need_status = true;  // commits wait for exactly this
    }
    // Without --synchronous the flush position moves when a segment reaches the archive:
    // tell the server at once, so that the slot lets go of it and `wal status` is current.
    if (!o_.synchronous && pusher_->archived() != archived_seen) {
      archived_seen = pusher_->archived();
      need_status = true;
    }
    if (need_status || Clock::now() - last_status >= interval) {
      PGK_RETURN_IF_ERROR(SendStatus(conn));
      last_status = Clock::now();
      need_status = false;
    }
  }
}

Status Receiver::OnData(uint64_t start, std::string_view data) {
  if (start > pos_) {
    return Status::Query("the server sent WAL from " + FormatLsn(start) + " while " + FormatLsn(pos_) +
                         " was expected: a gap in the stream");
  }
  if (start < pos_) {  // overlap (not expected from a walsender): keep what we have
    uint64_t skip = std::min<uint64_t>(pos_ - start, data.size());
    data.remove_prefix(skip);
  }
  while (!data.empty()) {
    uint64_t offset = pos_ % segment_size_;
    if (!partial_) {
      PGK_ASSIGN_OR_RETURN(partial_, PartialSegment::Open(spool_, SegmentAt(pos_), segment_size_));
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), segment_size_ - offset));
    PGK_RETURN_IF_ERROR(partial_->Write(offset, data.substr(0, n)));
    data.remove_prefix(n);
    pos_ += n;
    if (pos_ % segment_size_ == 0) {
      std::string name = partial_->segment().name;
      PGK_RETURN_IF_ERROR(partial_->Complete());
      partial_.reset();
      synced_ = pos_;
      log::Debug("received {}", name);
      pusher_->Wake();
    }
  }
  return Status::Ok();
}

Status Receiver::SyncPartial() {
  if (partial_) PGK_RETURN_IF_ERROR(partial_->Sync());
  synced_ = pos_;
  return Status::Ok();
}

uint64_t Receiver::FlushPosition() const {
  if (o_.synchronous) return synced_;
  // The start of the oldest segment of this timeline not in the archive yet.
  uint64_t flush = SegmentStartLsn(SegmentOf(pos_, segment_size_), segment_size_);
  for (const auto& n : spool_.Ready(segment_size_)) {
    auto f = ParseWalFileName(n, segment_size_);
    if (f.ok() && f->kind == WalFileKind::kSegment && f->timeline == timeline_) {
      flush = std::min(flush, SegmentStartLsn(f->segno, segment_size_));
    }
  }
  return flush;
}

Status Receiver::SendStatus(ReplicationConnection& conn) {
  replication::StandbyStatus st{.write = pos_,
                                .flush = FlushPosition(),
                                .apply = 0,
                                .now_us = replication::PgTimeMicros(std::chrono::system_clock::now()),
                                .reply_requested = false};
  return conn.Send(replication::EncodeStatus(st));
}

}  // namespace

Status Receive(repo::Repository& repo, const ReceiveSpool& spool, const ReceiveOptions& options) {
  PGK_RETURN_IF_ERROR(ValidateSlotName(options.slot));
  Receiver r(repo, spool, options);
  return r.Run();
}

}  // namespace pgk::wal
