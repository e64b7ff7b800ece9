// The fetch half of the spool: serving prefetched segments and the prefetch worker.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "wal/spool.h"
#include "wal/spool_internal.h"

namespace pgk::wal {

namespace {

constexpr char kLockName[] = ".lock";

// The spooled copy of `wal_name` ("<name>-<sha256>"), or an empty path.
std::filesystem::path FindSpooled(const std::filesystem::path& dir, const std::string& wal_name) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.size() == wal_name.size() + 65 && n.starts_with(wal_name) && n[wal_name.size()] == '-') return e.path();
  }
  return {};
}

// Moves `from` to `to`; across file systems (spool and pg_wal rarely share one), copies
// to a temporary name beside `to` first so that `to` appears complete or not at all.
Status MoveInto(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) == 0) return Status::Ok();
  if (errno != EXDEV)
    return Status::IO("cannot move " + from.string() + " to " + to.string() + ": " + std::strerror(errno));
  auto tmp = to;
  tmp += ".pgk-tmp";
  std::error_code ec;
  std::filesystem::copy_file(from, tmp, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec || ::rename(tmp.c_str(), to.c_str()) != 0) {
    std::filesystem::remove(tmp, ec);
    return Status::IO("cannot copy " + from.string() + " to " + to.string());
  }
  std::filesystem::remove(from, ec);
  return Status::Ok();
}

// Spooled segments before `wal_name` have been replayed: PostgreSQL never asks twice.
void RemoveOlder(const std::filesystem::path& dir, const std::string& wal_name) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.size() > 24 && n[24] == '-' && n.substr(0, 24) < wal_name.substr(0, 24))
      std::filesystem::remove(e.path(), ec);
    // Temporary files of a worker that died.
    if (n.find(".pgk-tmp.") != std::string::npos && n.substr(0, 24) < wal_name.substr(0, 24)) {
      std::filesystem::remove(e.path(), ec);
    }
  }
}

}  // namespace

Status FetchWithSpool(const Archive& archive, const std::string& wal_name, const std::filesystem::path& dest,
                      const PrefetchOptions& options, bool* served_from_spool) {
  *served_from_spool = false;
  PGK_ASSIGN_OR_RETURN(auto dir, internal::SpoolSubdir(options.spool, "fetch", archive.repository().Url()));
  auto spooled = FindSpooled(dir, wal_name);
  if (!spooled.empty()) {
    auto sha = internal::FileSha256(spooled);
    std::string expected = spooled.filename().string().substr(wal_name.size() + 1);
    if (sha.ok() && *sha == expected && MoveInto(spooled, dest).ok()) {
      *served_from_spool = true;
    } else {
      log::Warn("discarding the damaged prefetched copy {}; fetching it from the archive again", spooled.string());
      std::error_code ec;
      std::filesystem::remove(spooled, ec);
    }
  }
  if (wal_name.size() == 24) RemoveOlder(dir, wal_name);
  if (*served_from_spool) return Status::Ok();
  return archive.Fetch(wal_name, dest);
}

bool PrefetchRunning(const Archive& archive, const std::filesystem::path& spool) {
  auto dir = internal::SpoolSubdir(spool, "fetch", archive.repository().Url());
  if (!dir.ok()) return false;
  int fd = ::open((*dir / kLockName).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases our lock if we got it
  return held;
}

Status Prefetch(const Archive& archive, const std::string& wal_name, const PrefetchOptions& options) {
  PGK_ASSIGN_OR_RETURN(WalFile from, ParseWalFileName(wal_name, archive.segment_size()));
  if (from.kind != WalFileKind::kSegment) return Status::Ok();
  PGK_ASSIGN_OR_RETURN(auto dir, internal::SpoolSubdir(options.spool, "fetch", archive.repository().Url()));
  int fd = ::open((dir / kLockName).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IO("cannot open " + (dir / kLockName).string() + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status::Ok();  // another worker is on it
  }
  std::vector<std::string> wanted;
  for (int i = 1; i <= options.count; ++i) {
    std::string n = SegmentFileName(from.timeline, from.segno + static_cast<uint64_t>(i), archive.segment_size());
    if (FindSpooled(dir, n).empty()) wanted.push_back(n);
  }
  std::vector<Status> results(wanted.size());
  internal::RunParallel(wanted.size(), options.jobs, [&](size_t i) {
    auto found = archive.Find(wanted[i]);
    if (!found.ok()) {
      results[i] = found.status();
      return;
    }
    if (!*found) return;  // the end of the archive (for now)
    results[i] = archive.Fetch(wanted[i], dir / (wanted[i] + "-" + (*found)->sha256));
  });
  ::close(fd);
  for (const auto& s : results) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace pgk::wal
