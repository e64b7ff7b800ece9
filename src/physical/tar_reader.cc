#include "physical/tar_reader.h"

#include <algorithm>
#include <cstring>

namespace pgk::physical {

namespace {

constexpr size_t kBlock = 512;

// Header fields: offset and length.
struct Field {
  size_t at, len;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kSize{124, 12}, kMtime{136, 12}, kChecksum{148, 8}, kLink{157, 100},
    kMagic{257, 6}, kPrefix{345, 155};
constexpr size_t kTypeflag = 156;

std::string Text(const std::string& h, Field f) {
  const char* p = h.data() + f.at;
  return std::string(p, strnlen(p, f.len));
}

// Octal (with leading spaces, ended by NUL or space), or base-256 when the first byte's
// high bit is set (GNU; PostgreSQL for sizes of 8 GB and more).
Result<uint64_t> Number(const std::string& h, Field f, const std::string& what) {
  const auto* p = reinterpret_cast<const unsigned char*>(h.data() + f.at);
  if (p[0] & 0x80) {
    if (p[0] & 0x40) return Status::Malformed("negative " + what + " in a tar header");
    uint64_t v = p[0] & 0x3f;
    for (size_t i = 1; i < f.len; ++i) {
      if (v >> 56) return Status::Malformed(what + " out of range in a tar header");
      v = (v << 8) | p[i];
    }
    return v;
  }
  size_t i = 0;
  while (i < f.len && p[i] == ' ') ++i;
  uint64_t v = 0;
  for (; i < f.len && p[i] != 0 && p[i] != ' '; ++i) {
    if (p[i] < '0' || p[i] > '7') return Status::Malformed("invalid " + what + " in a tar header");
    v = (v << 3) | static_cast<uint64_t>(p[i] - '0');
  }
  return v;
}

bool AllZero(const std::string& block) {
  return std::all_of(block.begin(), block.end(), [](char c) { return c == 0; });
}

// The checksum counts the checksum field as eight spaces. Old writers summed signed
// chars; both sums are accepted, as GNU tar does.
bool ChecksumMatches(const std::string& h, uint64_t stored) {
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    bool in_field = i >= kChecksum.at && i < kChecksum.at + kChecksum.len;
    unsigned char u = in_field ? ' ' : static_cast<unsigned char>(h[i]);
    signed char s = in_field ? ' ' : static_cast<signed char>(h[i]);
    unsigned_sum += u;
    signed_sum += s;
  }
  return stored == unsigned_sum || static_cast<int64_t>(stored) == signed_sum;
}

std::string StripSlash(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// pax records: "<length> <key>=<value>\n", the length counting the whole record.
Status ApplyPax(const std::string& data, TarEntry* next, bool* has_size) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t space = data.find(' ', pos);
    if (space == std::string::npos) return Status::Malformed("malformed pax header record");
    size_t len = std::strtoull(data.substr(pos, space - pos).c_str(), nullptr, 10);
    if (len == 0 || pos + len > data.size() || data[pos + len - 1] != '\n') {
      return Status::Malformed("malformed pax header record");
    }
    std::string record = data.substr(space + 1, pos + len - space - 2);
    size_t eq = record.find('=');
    if (eq != std::string::npos) {
      std::string key = record.substr(0, eq), value = record.substr(eq + 1);
      if (key == "path") next->name = value;
      if (key == "linkpath") next->link_target = value;
      if (key == "size") {
        next->size = std::strtoull(value.c_str(), nullptr, 10);
        *has_size = true;
      }
      if (key == "mtime") next->mtime_s = std::strtoll(value.c_str(), nullptr, 10);
    }
    pos += len;
  }
  return Status::Ok();
}

}  // namespace

TarReader::TarReader(Source source, std::string archive) : source_(std::move(source)), archive_(std::move(archive)) {}

Status TarReader::Truncated(const std::string& where) const {
  return Status::Malformed(archive_ + " ends " + where + " (after " + std::to_string(offset_) + " bytes)",
                           "the server or the connection stopped in the middle of the backup; take it again");
}

Result<bool> TarReader::Fill(size_t n) {
  while (buf_.size() - pos_ < n) {
    if (source_ended_) return false;
    if (pos_ > 0) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    PGK_ASSIGN_OR_RETURN(bool more, source_(&buf_));
    if (!more) source_ended_ = true;
  }
  return true;
}

Result<bool> TarReader::ReadBlock(std::string* block) {
  PGK_ASSIGN_OR_RETURN(bool full, Fill(kBlock));
  if (!full) {
    if (buf_.size() == pos_) return false;
    return Truncated("inside a header");
  }
  block->assign(buf_, pos_, kBlock);
  pos_ += kBlock;
  offset_ += kBlock;
  return true;
}

Status TarReader::ReadData(const std::function<Status(std::string_view)>& out) {
  while (remaining_ > 0) {
    if (pos_ == buf_.size()) {
      PGK_ASSIGN_OR_RETURN(bool more, Fill(1));
      if (!more) return Truncated("inside the data of " + current_);
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, buf_.size() - pos_));
    PGK_RETURN_IF_ERROR(out(std::string_view(buf_.data() + pos_, n)));
    pos_ += n;
    offset_ += n;
    remaining_ -= n;
  }
  while (padding_ > 0) {
    if (pos_ == buf_.size()) {
      PGK_ASSIGN_OR_RETURN(bool more, Fill(1));
      if (!more) return Truncated("inside the padding after " + current_);
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(padding_, buf_.size() - pos_));
    pos_ += n;
    offset_ += n;
    padding_ -= n;
  }
  return Status::Ok();
}

Status TarReader::SkipData() {
  return ReadData([](std::string_view) { return Status::Ok(); });
}

Status TarReader::ReadSmallData(uint64_t size, std::string* out) {
  // Long names and pax records are small; anything else is not a header extension.
  if (size > (1u << 20))
    return Status::Malformed(archive_ + ": a tar header extension of " + std::to_string(size) + " bytes");
  out->clear();
  remaining_ = size;
  padding_ = (kBlock - size % kBlock) % kBlock;
  return ReadData([&](std::string_view piece) {
    out->append(piece);
    return Status::Ok();
  });
}

Result<std::optional<TarEntry>> TarReader::Next() {
  if (at_end_) return std::optional<TarEntry>();
  PGK_RETURN_IF_ERROR(SkipData());
  TarEntry pending;  // what GNU and pax extensions say about the next member
  bool pending_size = false;
  for (;;) {
    std::string h;
    PGK_ASSIGN_OR_RETURN(bool got, ReadBlock(&h));
    if (!got || AllZero(h)) {
      // The end: whatever follows the end-of-archive blocks is padding.
      at_end_ = true;
      while (!source_ended_) {
        buf_.clear();
        pos_ = 0;
        PGK_ASSIGN_OR_RETURN(bool more, source_(&buf_));
        if (!more) source_ended_ = true;
      }
      if (!pending.name.empty() || !pending.link_target.empty()) return Truncated("after a long-name header");
      return std::optional<TarEntry>();
    }
    uint64_t header_at = offset_ - kBlock;
    PGK_ASSIGN_OR_RETURN(uint64_t stored, Number(h, kChecksum, "checksum"));
    if (!ChecksumMatches(h, stored)) {
      return Status::Malformed(archive_ + ": the tar header at byte " + std::to_string(header_at) +
                                   " fails its checksum (" + Text(h, kName) + ")",
                               "the stream is damaged; take the backup again");
    }
    TarEntry e;
    e.typeflag = h[kTypeflag];
    PGK_ASSIGN_OR_RETURN(e.size, Number(h, kSize, "size"));
    PGK_ASSIGN_OR_RETURN(uint64_t mode, Number(h, kMode, "mode"));
    PGK_ASSIGN_OR_RETURN(uint64_t mtime, Number(h, kMtime, "mtime"));
    e.mode = static_cast<uint32_t>(mode & 07777);
    e.mtime_s = static_cast<int64_t>(mtime);
    e.name = Text(h, kName);
    // POSIX ustar splits long names into prefix/name; GNU uses that area for other fields.
    if (std::memcmp(h.data() + kMagic.at, "ustar\0", 6) == 0) {
      std::string prefix = Text(h, kPrefix);
      if (!prefix.empty()) e.name = prefix + "/" + e.name;
    }
    e.link_target = Text(h, kLink);
    current_ = e.name;
    if (e.typeflag == 'L' || e.typeflag == 'K') {
      std::string value;
      PGK_RETURN_IF_ERROR(ReadSmallData(e.size, &value));
      value = value.substr(0, value.find('\0'));
      (e.typeflag == 'L' ? pending.name : pending.link_target) = value;
      continue;
    }
    if (e.typeflag == 'x' || e.typeflag == 'g') {
      std::string records;
      PGK_RETURN_IF_ERROR(ReadSmallData(e.size, &records));
      if (e.typeflag == 'x') PGK_RETURN_IF_ERROR(ApplyPax(records, &pending, &pending_size));
      continue;
    }
    if (!pending.name.empty()) e.name = pending.name;
    if (!pending.link_target.empty()) e.link_target = pending.link_target;
    if (pending_size) e.size = pending.size;
    if (pending.mtime_s != 0) e.mtime_s = pending.mtime_s;
    switch (e.typeflag) {
      case '0':
      case '\0':
      case '7':
        e.type = TarEntry::Type::kFile;
        break;
      case '5':
        e.type = TarEntry::Type::kDirectory;
        break;
      case '2':
        e.type = TarEntry::Type::kSymlink;
        break;
      default:
        e.type = TarEntry::Type::kOther;
    }
    // Links and directories carry no data whatever the size field says (hard links).
    if (e.type == TarEntry::Type::kDirectory || e.type == TarEntry::Type::kSymlink || e.typeflag == '1') e.size = 0;
    e.name = StripSlash(e.name);
    current_ = e.name;
    remaining_ = e.size;
    padding_ = (kBlock - e.size % kBlock) % kBlock;
    return std::optional<TarEntry>(std::move(e));
  }
}

}  // namespace pgk::physical
