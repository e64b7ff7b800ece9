#include "physical/file_copy.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "physical/page_checksum.h"
#include "pipeline/hashing.h"

namespace pgk::physical {

namespace {

// Large reads keep the copy at disk speed; a multiple of every block size PostgreSQL allows.
constexpr size_t kChunk = 1 << 20;

Result<size_t> ReadFull(int fd, char* buf, size_t n, int64_t offset, const std::string& path) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = offset < 0 ? ::read(fd, buf + got, n - got) : ::pread(fd, buf + got, n - got, offset + static_cast<int64_t>(got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IO("cannot read " + path + ": " + std::strerror(errno));
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

}  // namespace

Result<std::optional<SourceFile>> SourceFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<SourceFile>();
    return Status::IO("cannot open " + path + ": " + std::strerror(errno),
                      errno == EACCES ? "run the backup as the data directory's owner (or root)" : "");
  }
  // The whole file is read once, front to back.
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::optional<SourceFile>(SourceFile(fd, path));
}

SourceFile::~SourceFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status SourceFile::Rewind() {
  if (::lseek(fd_, 0, SEEK_SET) != 0) return Status::IO("cannot seek in " + path_ + ": " + std::strerror(errno));
  return Status::Ok();
}

Status SourceFile::CopyTo(pipeline::Sink& sink, const PageCheck& check, CopyResult* result) {
  PGK_RETURN_IF_ERROR(Rewind());
  std::unique_ptr<char[]> buf(new char[kChunk]);
  std::unique_ptr<char[]> again(new char[check.block_size]);
  uint64_t offset = 0;
  for (;;) {
    PGK_ASSIGN_OR_RETURN(size_t n, ReadFull(fd_, buf.get(), kChunk, -1, path_));
    if (n == 0) break;
    if (check.enabled) {
      // A trailing partial page is being written right now: WAL replay completes it.
      for (size_t p = 0; p + check.block_size <= n; p += check.block_size) {
        uint32_t block = static_cast<uint32_t>((offset + p) / check.block_size);
        uint32_t absolute = check.segment_no * check.segment_blocks + block;
        char* page = buf.get() + p;
        if (CheckPage(page, check.block_size, absolute, check.backup_start_lsn) != PageVerdict::kBad) continue;
        PGK_ASSIGN_OR_RETURN(size_t m, ReadFull(fd_, again.get(), check.block_size, static_cast<int64_t>(offset + p), path_));
        if (m == check.block_size &&
            CheckPage(again.get(), check.block_size, absolute, check.backup_start_lsn) != PageVerdict::kBad) {
          std::memcpy(page, again.get(), check.block_size);  // the torn read's complete version
          continue;
        }
        result->page_errors.push_back(block);
      }
    }
    PGK_RETURN_IF_ERROR(sink.Write(std::string_view(buf.get(), n)));
    offset += n;
    if (n < kChunk) break;
  }
  result->bytes = offset;
  return Status::Ok();
}

Result<std::pair<std::string, uint64_t>> SourceFile::Hash() {
  PGK_RETURN_IF_ERROR(Rewind());
  std::unique_ptr<char[]> buf(new char[kChunk]);
  pipeline::Sha256 sha;
  uint64_t size = 0;
  for (;;) {
    PGK_ASSIGN_OR_RETURN(size_t n, ReadFull(fd_, buf.get(), kChunk, -1, path_));
    if (n == 0) break;
    sha.Update(std::string_view(buf.get(), n));
    size += n;
    if (n < kChunk) break;
  }
  return std::make_pair(sha.FinishHex(), size);
}

}  // namespace pgk::physical
