// Archive::Push: hash first, look, then store under a name that carries the digest.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pipeline/compress.h"
#include "pipeline/encrypt.h"
#include "pipeline/hashing.h"
#include "pipeline/sink.h"
#include "wal/archive.h"
#include "wal/control.h"

namespace pgk::wal {

namespace {

// A read-only mapping of the file being pushed. WAL segments are read twice (digest, then
// compression): mapping them costs no copy and no buffer.
class MappedFile {
 public:
  static Result<MappedFile> Open(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == ENOENT) return Status::NotFound("no WAL file " + path.string(), "archive_command must pass %p");
      return Status::IO("cannot open " + path.string() + ": " + std::strerror(e));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Status::IO("cannot read " + path.string() + ": not a regular file");
    }
    MappedFile m;
    m.size_ = static_cast<size_t>(st.st_size);
    m.stamp_ = Stamp(st);
    if (m.size_ > 0) {
      void* p = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int e = errno;
        ::close(fd);
        return Status::IO("cannot map " + path.string() + ": " + std::strerror(e));
      }
      ::madvise(p, m.size_, MADV_SEQUENTIAL);
      m.data_ = static_cast<const char*>(p);
    }
    ::close(fd);
    return m;
  }
  MappedFile(MappedFile&& o) noexcept : data_(o.data_), size_(o.size_), stamp_(std::move(o.stamp_)) {
    o.data_ = nullptr;
  }
  MappedFile& operator=(MappedFile&&) = delete;
  ~MappedFile() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
  }
  std::string_view bytes() const { return {data_ ? data_ : "", size_}; }
  // Whether the file at `path` is still the one mapped, unmodified (same inode, size and
  // modification time): PostgreSQL does not write a segment it has marked ready, but a
  // file pushed by hand might be.
  bool Unchanged(const std::filesystem::path& path) const {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && Stamp(st) == stamp_;
  }

 private:
  MappedFile() = default;
  static std::string Stamp(const struct stat& st) {
    return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) +
           "." + std::to_string(st.st_mtim.tv_nsec);
  }
  const char* data_ = nullptr;
  size_t size_ = 0;
  std::string stamp_;
};

std::string Sha256Of(std::string_view data) {
  pipeline::Sha256 sha;
  sha.Update(data);
  return sha.FinishHex();
}

}  // namespace

Result<PushResult> Archive::Push(const std::filesystem::path& local, const std::string& wal_name,
                                 const PushOptions& options) const {
  PGK_ASSIGN_OR_RETURN(WalFile file, ParseWalFileName(wal_name, segment_size()));
  if (!can_read_data()) {
    return Status::Refused("the WAL archive in " + repo_.Url() + " is encrypted and no key was given",
                           std::string("set ") + pipeline::kKeyEnvVar + " or pass --key-file");
  }
  PGK_ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::Open(local));
  std::string_view bytes = mapped.bytes();
  if (file.kind == WalFileKind::kSegment || file.kind == WalFileKind::kPartial) {
    if (bytes.size() != segment_size()) {
      return Status::Malformed(local.string() + " has " + std::to_string(bytes.size()) + " bytes; WAL segments of " +
                               "this archive have " + std::to_string(segment_size()));
    }
    PGK_ASSIGN_OR_RETURN(SegmentHeader h, ParseSegmentHeader(bytes, local.string()));
    if (std::to_string(h.system_identifier) != info_.system_identifier) {
      return Status::Refused(local.string() + " was written by the cluster with system identifier " +
                                 std::to_string(h.system_identifier) + "; the WAL archive in " + repo_.Url() +
                                 " belongs to " + info_.system_identifier,
                             "give each cluster its own repository (or prefix)");
    }
  }
  PushResult result;
  result.original_size = bytes.size();
  std::string sha = Sha256Of(bytes);
  PGK_ASSIGN_OR_RETURN(auto existing, Find(wal_name));
  if (existing) {
    if (existing->sha256 != sha) {
      return Status::Refused(
          wal_name + " is already archived in " + repo_.Url() + " with different contents (" + existing->path + ")",
          "another cluster may be archiving into this repository; never overwritten: check "
          "which cluster owns it");
    }
    result.already_archived = true;
    result.stored = std::move(existing).value();
    return result;
  }
  pipeline::Cipher cipher = key_ ? pipeline::Cipher::kAes256Gcm : pipeline::Cipher::kNone;
  std::string path = StoredPath(file, sha, options.compression, cipher);
  PGK_ASSIGN_OR_RETURN(auto writer, repo_.storage().OpenWrite(path, {.atomic = true, .sync = true}));
  // The pipeline's stages without its hashing ones: the digest that matters is already in
  // the name, and a second SHA-256 pass would be a quarter of the push's CPU time.
  std::unique_ptr<pipeline::Sink> sink = std::make_unique<pipeline::WriterSink>(*writer);
  if (key_) {
    PGK_ASSIGN_OR_RETURN(sink, pipeline::NewEncryptingSink(*key_, pipeline::kDefaultChunkSize, std::move(sink)));
  }
  PGK_ASSIGN_OR_RETURN(
      sink, pipeline::NewCompressingSink({.algorithm = options.compression, .level = options.compression_level},
                                         std::move(sink)));
  constexpr size_t kStep = 1 << 20;
  for (size_t off = 0; off < bytes.size(); off += kStep) {
    PGK_RETURN_IF_ERROR(sink->Write(bytes.substr(off, kStep)));
  }
  PGK_RETURN_IF_ERROR(sink->Finish());
  if (!mapped.Unchanged(local)) {
    // Written to while it was read: what was stored may not match its name.
    (void)repo_.storage().Remove(path);
    return Status::IO(local.string() + " changed while it was being archived", "PostgreSQL will retry the push");
  }
  result.stored = StoredWal{.file = file,
                            .path = path,
                            .sha256 = sha,
                            .compression = options.compression,
                            .cipher = cipher,
                            .stored_size = writer->bytes_written()};
  return result;
}

}  // namespace pgk::wal
