// The push half of the spool: acknowledgements and the parallel push of a backlog.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "common/fs.h"
#include "common/hash.h"
#include "pipeline/hashing.h"
#include "wal/spool.h"
#include "wal/spool_internal.h"

namespace pgk::wal {

namespace internal {

Result<std::filesystem::path> SpoolSubdir(const std::filesystem::path& spool, const std::string& kind,
                                          const std::string& repo_url) {
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(Fnv1a64(repo_url)));
  auto dir = spool / (kind + "-" + hash);
  PGK_RETURN_IF_ERROR(fs::MakeDirs(dir, 0700));
  return dir;
}

void RunParallel(size_t n, int jobs, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> threads;
  size_t extra = std::min(n, static_cast<size_t>(std::max(jobs, 1))) - (n > 0 ? 1 : 0);
  for (size_t t = 0; t < extra; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
}

Result<std::string> FileSha256(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IO("cannot read " + path.string());
  pipeline::Sha256 sha;
  std::string buf(1 << 20, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    sha.Update(std::string_view(buf.data(), static_cast<size_t>(in.gcount())));
  }
  if (in.bad()) return Status::IO("cannot read " + path.string());
  return sha.FinishHex();
}

}  // namespace internal

namespace {

// What identifies the local file an acknowledgement was written for.
std::string FileStamp(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec) +
         " " + std::to_string(st.st_ino);
}

std::filesystem::path AckPath(const std::filesystem::path& dir, const std::string& wal_name) {
  return dir / (wal_name + ".ok");
}

bool Acknowledged(const std::filesystem::path& dir, const std::filesystem::path& local, const std::string& wal_name) {
  auto text = fs::ReadFile(AckPath(dir, wal_name));
  if (!text.ok()) return false;
  auto space = text->find(' ');
  std::string stamp = FileStamp(local);
  if (space == std::string::npos || stamp.empty()) return false;
  std::string recorded = text->substr(space + 1);
  while (!recorded.empty() && recorded.back() == '\n') recorded.pop_back();
  return recorded == stamp;
}

// Not synced: a lost acknowledgement only means the file is pushed again, which the
// archive answers with "already archived".
void Acknowledge(const std::filesystem::path& dir, const std::filesystem::path& local, const PushResult& r) {
  std::string stamp = FileStamp(local);
  if (stamp.empty()) return;
  (void)fs::WriteFile(AckPath(dir, r.stored.file.name), r.stored.sha256 + " " + stamp + "\n",
                      {.atomic = true, .sync = false});
}

// .ready files, history files first, then by name (PostgreSQL's own order).
std::vector<std::string> ReadyFiles(const std::filesystem::path& wal_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(wal_dir / "archive_status", ec)) {
    std::string n = e.path().filename().string();
    if (n.size() > 6 && n.ends_with(".ready")) out.push_back(n.substr(0, n.size() - 6));
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    bool ha = a.ends_with(".history"), hb = b.ends_with(".history");
    return ha != hb ? ha : a < b;
  });
  return out;
}

// Acknowledgements for files that left pg_wal (archived and recycled) are no use.
void RemoveStaleAcks(const std::filesystem::path& dir, const std::filesystem::path& wal_dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (!n.ends_with(".ok")) continue;
    if (!std::filesystem::exists(wal_dir / n.substr(0, n.size() - 3), ec)) std::filesystem::remove(e.path(), ec);
  }
}

}  // namespace

bool AcknowledgedInSpool(const std::filesystem::path& spool, const std::string& repo_url,
                         const std::filesystem::path& wal_dir, const std::string& wal_name) {
  auto dir = internal::SpoolSubdir(spool, "push", repo_url);
  return dir.ok() && Acknowledged(*dir, wal_dir / wal_name, wal_name);
}

Result<AsyncPushReport> PushAsync(const Archive& archive, const std::string& wal_name,
                                  const AsyncPushOptions& options) {
  AsyncPushReport report;
  PGK_ASSIGN_OR_RETURN(auto dir, internal::SpoolSubdir(options.spool, "push", archive.repository().Url()));
  if (Acknowledged(dir, options.wal_dir / wal_name, wal_name)) {
    report.acknowledged = true;
    return report;
  }
  std::vector<std::string> batch = {wal_name};
  for (const auto& n : ReadyFiles(options.wal_dir)) {
    if (batch.size() >= options.max_batch) break;
    if (n != wal_name && !Acknowledged(dir, options.wal_dir / n, n)) batch.push_back(n);
  }
  std::vector<Status> results(batch.size());
  std::mutex mu;
  internal::RunParallel(batch.size(), options.jobs, [&](size_t i) {
    auto local = options.wal_dir / batch[i];
    auto r = archive.Push(local, batch[i], options.push);
    if (r.ok()) Acknowledge(dir, local, *r);
    std::lock_guard<std::mutex> lock(mu);
    if (!r.ok()) {
      results[i] = r.status();
    } else if (r->already_archived) {
      ++report.already;
    } else {
      ++report.pushed;
    }
  });
  for (size_t i = 1; i < batch.size(); ++i) {
    if (!results[i].ok()) report.failed.emplace_back(batch[i], results[i]);
  }
  RemoveStaleAcks(dir, options.wal_dir);
  if (!results[0].ok()) return results[0];
  return report;
}

}  // namespace pgk::wal
