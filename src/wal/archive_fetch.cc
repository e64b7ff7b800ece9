// Archive::Fetch and Verify: the read pipeline, checked against the digest in the stored
// file's name before a byte is made visible to PostgreSQL.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/hash.h"
#include "pipeline/compress.h"
#include "pipeline/encrypt.h"
#include "pipeline/hashing.h"
#include "wal/archive.h"
#include "wal/spool_internal.h"

namespace pgk::wal {

namespace {

// Hashes what passes and, at the end, turns end of file into a checksum mismatch when the
// digest (or, for segments, the size) is not the one the name records. The archive has
// no record of a history file's size, so only segments have a size to exceed early.
class DigestCheckReader final : public storage::Reader {
 public:
  DigestCheckReader(std::unique_ptr<storage::Reader> upstream, std::string name, std::string sha256,
                    std::optional<uint64_t> size)
      : upstream_(std::move(upstream)), name_(std::move(name)), sha256_(std::move(sha256)), size_(size) {}

  Result<size_t> Read(char* buf, size_t n) override {
    if (!error_.ok()) return error_;
    auto r = upstream_->Read(buf, n);
    if (!r.ok()) {
      // Decoders report what broke, not in which file.
      const Status& st = r.status();
      if (st.code() == Code::kMalformed && st.message().find(name_) == std::string::npos) {
        return error_ = Status::Malformed(name_ + " is corrupted: " + st.message(),
                                          "the archived WAL file is damaged; recovery cannot replay past it");
      }
      return error_ = st;
    }
    bytes_ += *r;
    if (size_ && bytes_ > *size_) return error_ = pipeline::ChecksumMismatch(name_);
    if (*r > 0) {
      sha_.Update({buf, *r});
      return r;
    }
    if ((size_ && bytes_ != *size_) || sha_.FinishHex() != sha256_) return error_ = pipeline::ChecksumMismatch(name_);
    error_ = Status::Internal("read after end of " + name_);
    return size_t{0};
  }

 private:
  std::unique_ptr<storage::Reader> upstream_;
  std::string name_;
  std::string sha256_;
  std::optional<uint64_t> size_;
  pipeline::Sha256 sha_;
  uint64_t bytes_ = 0;
  Status error_;
};

Status NoKey(const std::string& url) {
  return Status::Refused("the WAL archive in " + url + " is encrypted and no key was given",
                         std::string("set ") + pipeline::kKeyEnvVar + " or pass --key-file");
}

Status NotArchived(const std::string& wal_name, const std::string& url) {
  return Status::NotFound(wal_name + " is not in the WAL archive in " + url);
}

Status Errno(const std::string& what, const std::string& path) {
  return Status::IO(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<storage::Reader>> Archive::OpenStored(const StoredWal& file) const {
  if (file.cipher == pipeline::Cipher::kAes256Gcm && !key_) {
    if (!can_read_data()) return NoKey(repo_.Url());
    return Status::Malformed(file.path + " is encrypted but the archive has no data key",
                             "the file does not belong to this archive");
  }
  PGK_ASSIGN_OR_RETURN(auto reader, repo_.storage().OpenRead(file.path));
  if (file.cipher == pipeline::Cipher::kAes256Gcm) {
    reader = pipeline::NewDecryptingReader(*key_, file.path, std::move(reader));
  }
  PGK_ASSIGN_OR_RETURN(reader, pipeline::NewDecompressingReader(file.compression, file.path, std::move(reader)));
  bool segment = file.file.kind == WalFileKind::kSegment || file.file.kind == WalFileKind::kPartial;
  return std::unique_ptr<storage::Reader>(std::make_unique<DigestCheckReader>(
      std::move(reader), file.path, file.sha256, segment ? std::optional<uint64_t>(segment_size()) : std::nullopt));
}

Status Archive::Fetch(const std::string& wal_name, const std::filesystem::path& dest) const {
  PGK_ASSIGN_OR_RETURN(auto found, Find(wal_name));
  if (!found) return NotArchived(wal_name, repo_.Url());
  PGK_ASSIGN_OR_RETURN(auto reader, OpenStored(*found));
  std::string tmp = dest.string() + ".pgk-tmp." + RandomHex(8);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", tmp);
  auto fail = [&](Status s) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  std::vector<char> buf(1 << 20);
  while (true) {
    auto n = reader->Read(buf.data(), buf.size());
    if (!n.ok()) return fail(n.status());
    if (*n == 0) break;
    for (size_t off = 0; off < *n;) {
      ssize_t w = ::write(fd, buf.data() + off, *n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return fail(Errno("cannot write", tmp));
      off += static_cast<size_t>(w);
    }
  }
  // No fsync: PostgreSQL treats a restored file as a copy it can ask for again after a
  // crash, and it syncs what it keeps.
  if (::close(fd) != 0) {
    Status s = Errno("cannot write", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    Status s = Errno("cannot rename into", dest.string());
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

Result<std::string> Archive::FetchToString(const std::string& wal_name) const {
  PGK_ASSIGN_OR_RETURN(auto found, Find(wal_name));
  if (!found) return NotArchived(wal_name, repo_.Url());
  PGK_ASSIGN_OR_RETURN(auto reader, OpenStored(*found));
  std::string out;
  char buf[64 << 10];
  while (true) {
    PGK_ASSIGN_OR_RETURN(size_t n, reader->Read(buf, sizeof buf));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

Status Archive::Verify(const StoredWal& file) const {
  PGK_ASSIGN_OR_RETURN(auto reader, OpenStored(file));
  return pipeline::Verify(*reader);
}

std::vector<Status> Archive::VerifyAll(const std::vector<StoredWal>& files, int jobs) const {
  std::vector<Status> results(files.size());
  internal::RunParallel(files.size(), jobs, [&](size_t i) { results[i] = Verify(files[i]); });
  return results;
}

}  // namespace pgk::wal
