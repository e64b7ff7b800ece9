// A streaming reader of the tar archives a server sends for BASE_BACKUP: one 512-byte
// header per member, then its data padded to a 512-byte boundary. Nothing is buffered
// beyond the chunk being read, so a member of any size streams through in pieces.
//
// Understood: ustar and V7 headers (the prefix field, octal or base-256 numbers, as
// PostgreSQL's tarCreateHeader writes for files of 8 GB and more), GNU long names and
// link names ('L', 'K') and pax extended headers ('x': path, linkpath, size, mtime;
// global 'g' headers are skipped). PostgreSQL 15 writes none of these extensions (it
// refuses names over 99 bytes) but other tar writers do. The archive ends with the
// source (the server sends no end-of-archive blocks) or at two zero blocks; a source that
// ends inside a header or a member's data is an error, as is a header whose checksum
// does not match.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pgk::physical {

struct TarEntry {
  enum class Type { kFile, kDirectory, kSymlink, kOther };
  Type type = Type::kFile;
  std::string name;  // as stored, without a trailing '/' (PostgreSQL marks directories and links with one)
  std::string link_target;
  uint64_t size = 0;    // data bytes that follow (0 for directories and links)
  uint32_t mode = 0;    // permission bits
  int64_t mtime_s = 0;  // seconds since the epoch
  char typeflag = '0';
};

class TarReader {
 public:
  // Appends the next piece of the archive to `*chunk` and returns true, or returns false
  // at the end of the archive. Pieces may have any size.
  using Source = std::function<Result<bool>(std::string* chunk)>;

  // `archive` names the archive in error messages ("the main archive", ...).
  TarReader(Source source, std::string archive);

  // The next member; nullopt at the end of the archive. Data of the previous member that
  // was not read is skipped.
  Result<std::optional<TarEntry>> Next();
  // Streams the current member's data (exactly its size) to `out`, in pieces.
  Status ReadData(const std::function<Status(std::string_view)>& out);

  uint64_t offset() const { return offset_; }  // archive bytes consumed so far

 private:
  // Makes at least `n` bytes available in buf_ (from pos_); false when the source ended first.
  Result<bool> Fill(size_t n);
  Result<bool> ReadBlock(std::string* block);  // false: the source ended exactly here
  Status SkipData();
  Status ReadSmallData(uint64_t size, std::string* out);  // long names, pax records
  Status Truncated(const std::string& where) const;

  Source source_;
  std::string archive_;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t offset_ = 0;
  bool source_ended_ = false;
  bool at_end_ = false;
  std::string current_;     // name of the member whose data is pending
  uint64_t remaining_ = 0;  // its data bytes not yet read
  uint64_t padding_ = 0;    // and the padding after them
};

}  // namespace pgk::physical
