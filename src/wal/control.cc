#include "wal/control.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace pgk::wal {

namespace {

// XLP_LONG_HEADER in xlp_info: set on the first page of every segment.
constexpr uint16_t kLongHeaderFlag = 0x0002;

template <typename T>
T Load(std::string_view bytes, size_t offset) {
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof v);  // PostgreSQL writes host byte order
  return v;
}

Result<std::string> ReadPrefix(const std::filesystem::path& path, size_t n) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return Status::NotFound("no file " + path.string());
    return Status::IO("cannot open " + path.string() + ": " + std::strerror(e));
  }
  std::string buf(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, buf.data() + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  buf.resize(got);
  return buf;
}

}  // namespace

Result<SegmentHeader> ParseSegmentHeader(std::string_view b, const std::string& name) {
  if (b.size() < kSegmentHeaderSize) return Status::Malformed(name + " is too short to be a WAL segment");
  SegmentHeader h;
  h.magic = Load<uint16_t>(b, 0);
  uint16_t info = Load<uint16_t>(b, 2);
  h.timeline = Load<uint32_t>(b, 4);
  h.page_address = Load<uint64_t>(b, 8);
  h.system_identifier = Load<uint64_t>(b, 24);
  h.segment_size = Load<uint32_t>(b, 32);
  h.wal_block_size = Load<uint32_t>(b, 36);
  // WAL page magics are 0xD0xx/0xD1xx; anything else is not a segment's first page.
  if ((h.magic & 0xFE00) != 0xD000 || (info & kLongHeaderFlag) == 0 || !ValidSegmentSize(h.segment_size)) {
    return Status::Malformed(name + " does not start with a WAL segment header",
                             "archive_command must be given %p, the path of a WAL file");
  }
  return h;
}

Result<ClusterIdentity> ReadControlFile(const std::filesystem::path& pgdata) {
  auto path = pgdata / "global" / "pg_control";
  PGK_ASSIGN_OR_RETURN(std::string b, ReadPrefix(path, 16));
  if (b.size() < 16) return Status::Malformed(path.string() + " is truncated");
  ClusterIdentity id;
  id.system_identifier = Load<uint64_t>(b, 0);
  id.pg_control_version = Load<uint32_t>(b, 8);
  return id;
}

Result<SegmentHeader> AnySegmentHeader(const std::filesystem::path& wal_dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(wal_dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.size() != 24 || n.find_first_not_of("0123456789ABCDEF") != std::string::npos) continue;
    auto b = ReadPrefix(e.path(), kSegmentHeaderSize);
    if (!b.ok()) continue;
    auto h = ParseSegmentHeader(*b, e.path().string());
    if (h.ok()) return h;
  }
  return Status::NotFound("no WAL segment in " + wal_dir.string() + " to learn the segment size from",
                          "push a segment first (SELECT pg_switch_wal())");
}

}  // namespace pgk::wal
