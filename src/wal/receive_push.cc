#include "wal/receive_push.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/fs.h"
#include "common/log.h"
#include "wal/control.h"

namespace pgk::wal {

SpoolPusher::SpoolPusher(repo::Repository& repo, const ReceiveSpool& spool, const ClusterIdentity& cluster,
                         const PushOptions& options)
    : repo_(repo), spool_(spool), cluster_(cluster), options_(options) {
  thread_ = std::thread([this] { Loop(); });
}

SpoolPusher::~SpoolPusher() { Stop(); }

void SpoolPusher::Wake() {
  std::lock_guard<std::mutex> lock(mu_);
  pending_ = true;
  cv_.notify_all();
}

void SpoolPusher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

Status SpoolPusher::fatal() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fatal_;
}

void SpoolPusher::Loop() {
  int backoff_s = 1;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || pending_; });
      if (stop_ || !fatal_.ok()) return;
      pending_ = false;
    }
    if (PushReady()) {
      backoff_s = 1;
      continue;
    }
    // A failed push: retry the same file later, waking early only to stop.
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(backoff_s), [&] { return stop_; });
    if (stop_ || !fatal_.ok()) return;
    pending_ = true;
    backoff_s = std::min(backoff_s * 2, 30);
  }
}

bool SpoolPusher::PushReady() {
  for (const auto& name : spool_.Ready(cluster_.wal_segment_size)) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return true;
    }
    Status s = PushOne(name);
    if (s.ok()) continue;
    if (s.code() == Code::kRefused) {
      std::lock_guard<std::mutex> lock(mu_);
      fatal_ = s;
      return false;
    }
    if (s.message() != last_error_) {
      log::Warn("cannot archive {} yet (kept in the spool, retrying): {}", name, s.message());
      last_error_ = s.message();
    }
    return false;
  }
  if (!last_error_.empty()) log::Info("archiving works again");
  last_error_.clear();
  return true;
}

Result<const Archive*> SpoolPusher::GetArchive(const std::filesystem::path& first_file) {
  if (archive_) return archive_.get();
  ClusterIdentity id = cluster_;
  // The page magic identifies the server version that wrote the WAL: any segment has it.
  std::string header(kSegmentHeaderSize, '\0');
  if (FILE* f = std::fopen(first_file.c_str(), "rb")) {
    header.resize(std::fread(header.data(), 1, header.size(), f));
    std::fclose(f);
    if (auto h = ParseSegmentHeader(header, first_file.string()); h.ok()) id.wal_page_magic = h->magic;
  }
  PGK_ASSIGN_OR_RETURN(archive_, Archive::OpenForPush(repo_, id, options_));
  return archive_.get();
}

Status SpoolPusher::PushOne(const std::string& name) {
  auto path = spool_.ready_dir() / name;
  PGK_ASSIGN_OR_RETURN(const Archive* archive, GetArchive(path));
  auto r = archive->Push(path, name, options_);
  bool partial = name.ends_with(".partial");
  if (!r.ok()) {
    // An ended timeline's last segment: the promoted server archives its own copy, whose
    // bytes after the switch point may differ from our zeros. Both hold the same WAL up
    // to the switch, which the new timeline's first segment holds too.
    if (!(partial && r.status().code() == Code::kRefused)) return r.status().WithContext("archiving " + name);
    log::Warn("{}: the archive holds another copy; keeping that one", name);
  } else {
    log::Info("archived {}{}", name, r->already_archived ? " (already in the archive)" : "");
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ec) return Status::IO("cannot remove " + path.string() + ": " + ec.message());
  PGK_RETURN_IF_ERROR(fs::FsyncDir(spool_.ready_dir()));
  ++archived_;
  return Status::Ok();
}

}  // namespace pgk::wal
