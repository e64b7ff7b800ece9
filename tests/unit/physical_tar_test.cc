// The streaming tar reader of replication-mode backups (physical/tar_reader.h): headers as
// PostgreSQL writes them, the extensions other writers use, and damaged streams.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "physical/tar_reader.h"

namespace pgk::physical {
namespace {

// PostgreSQL's tarCreateHeader (src/port/tar.c): octal fields, "ustar" magic, a '/'
// after the names of directories and links, the checksum over the header with its own
// field as spaces. `base256_size` writes the size the way it does for files >= 8 GB.
std::string Header(const std::string& name, char type, uint64_t size, uint32_t mode, int64_t mtime,
                   const std::string& link = "", bool base256_size = false) {
  std::string h(512, '\0');
  std::string stored = name;
  if (type == '5' || type == '2') stored += "/";
  std::memcpy(&h[0], stored.data(), std::min<size_t>(stored.size(), 100));
  std::snprintf(&h[100], 8, "%07o", mode);
  std::snprintf(&h[108], 8, "%07o", 26);
  std::snprintf(&h[116], 8, "%07o", 26);
  if (base256_size) {
    h[124] = static_cast<char>(0x80);
    for (int i = 0; i < 8; ++i) h[135 - i] = static_cast<char>((size >> (8 * i)) & 0xff);
  } else {
    char buf[13];
    std::snprintf(buf, sizeof buf, "%011llo", static_cast<unsigned long long>(size));
    std::memcpy(&h[124], buf, 12);
  }
  char buf[13];
  std::snprintf(buf, sizeof buf, "%011llo", static_cast<unsigned long long>(mtime));
  std::memcpy(&h[136], buf, 12);
  h[156] = type;
  std::memcpy(&h[157], link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(&h[257], "ustar", 6);
  std::memcpy(&h[263], "00", 2);
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  std::snprintf(&h[148], 8, "%06o", sum);
  h[155] = ' ';
  return h;
}

std::string Padded(const std::string& data) { return data + std::string((512 - data.size() % 512) % 512, '\0'); }

std::string Member(const std::string& name, const std::string& data, uint32_t mode = 0600, int64_t mtime = 1700000000) {
  return Header(name, '0', data.size(), mode, mtime) + Padded(data);
}

// Serves `archive` in pieces of `piece` bytes.
TarReader::Source Pieces(const std::string& archive, size_t piece) {
  auto pos = std::make_shared<size_t>(0);
  return [archive, piece, pos](std::string* chunk) -> Result<bool> {
    if (*pos >= archive.size()) return false;
    size_t n = std::min(piece, archive.size() - *pos);
    chunk->append(archive, *pos, n);
    *pos += n;
    return true;
  };
}

struct Read {
  std::vector<TarEntry> entries;
  std::vector<std::string> data;
  Status status;
};

Read ReadAll(const std::string& archive, size_t piece) {
  Read r;
  TarReader reader(Pieces(archive, piece), "the test archive");
  for (;;) {
    auto e = reader.Next();
    if (!e.ok()) {
      r.status = e.status();
      return r;
    }
    if (!*e) return r;
    std::string data;
    r.status = reader.ReadData([&](std::string_view p) {
      data.append(p);
      return Status::Ok();
    });
    if (!r.status.ok()) return r;
    r.entries.push_back(**e);
    r.data.push_back(data);
  }
}

TEST(TarReader, ReadsWhatPostgresWritesInAnyPieceSize) {
  std::string big(70000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  std::string archive = Header("base", '5', 0, 0700, 1700000001) + Member("base/1/1259", big, 0600, 1700000002) +
                        Member("PG_VERSION", "15\n", 0640) + Header("pg_tblspc/16385", '2', 0, 0777, 5, "/srv/ts") +
                        Member("empty", "");
  // The server sends no end-of-archive blocks; an archive ending at a member boundary is complete.
  for (size_t piece : {size_t{1}, size_t{7}, size_t{512}, size_t{4096}, archive.size()}) {
    Read r = ReadAll(archive, piece);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString() << " piece " << piece;
    ASSERT_EQ(r.entries.size(), 5u);
    EXPECT_EQ(r.entries[0].type, TarEntry::Type::kDirectory);
    EXPECT_EQ(r.entries[0].name, "base");
    EXPECT_EQ(r.entries[0].mode, 0700u);
    EXPECT_EQ(r.entries[1].type, TarEntry::Type::kFile);
    EXPECT_EQ(r.entries[1].name, "base/1/1259");
    EXPECT_EQ(r.entries[1].size, big.size());
    EXPECT_EQ(r.entries[1].mtime_s, 1700000002);
    EXPECT_EQ(r.data[1], big);
    EXPECT_EQ(r.data[2], "15\n");
    EXPECT_EQ(r.entries[2].mode, 0640u);
    EXPECT_EQ(r.entries[3].type, TarEntry::Type::kSymlink);
    EXPECT_EQ(r.entries[3].name, "pg_tblspc/16385");
    EXPECT_EQ(r.entries[3].link_target, "/srv/ts");
    EXPECT_EQ(r.entries[4].size, 0u);
  }
  // With the two zero blocks other writers add, and data left unread by the caller.
  TarReader reader(Pieces(archive + std::string(1024, '\0'), 100), "a");
  int n = 0;
  for (;;) {
    auto e = reader.Next();
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    if (!*e) break;
    ++n;
  }
  EXPECT_EQ(n, 5);
}

TEST(TarReader, LongNamesFromGnuPaxAndUstarPrefix) {
  std::string long_name(150, 'n');
  std::string gnu = Header("././@LongLink", 'L', long_name.size() + 1, 0, 0) + Padded(long_name + '\0') +
                    Member(long_name.substr(0, 99), "gnu");
  std::string pax_records;
  std::string record = "path=" + long_name + "/pax\n";
  std::string len = std::to_string(record.size() + 4);  // "NNN " + record
  pax_records = len + " " + record;
  ASSERT_EQ(pax_records.size(), std::stoul(len));
  std::string pax = Header("PaxHeader", 'x', pax_records.size(), 0, 0) + Padded(pax_records) + Member("short", "pax");
  std::string ustar = Member("file", "ustar");
  std::memcpy(&ustar[345], "some/prefix", 11);
  // The prefix changes the checksum: recompute it.
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(ustar[i]);
  std::snprintf(&ustar[148], 8, "%06o", sum);
  ustar[155] = ' ';
  std::string big = Header("huge", '0', 3, 0600, 0, "", /*base256_size=*/true) + Padded("abc");

  Read r = ReadAll(gnu + pax + ustar + big, 300);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.entries.size(), 4u);
  EXPECT_EQ(r.entries[0].name, long_name);
  EXPECT_EQ(r.data[0], "gnu");
  EXPECT_EQ(r.entries[1].name, long_name + "/pax");
  EXPECT_EQ(r.data[1], "pax");
  EXPECT_EQ(r.entries[2].name, "some/prefix/file");
  EXPECT_EQ(r.entries[3].size, 3u);
  EXPECT_EQ(r.data[3], "abc");
}

TEST(TarReader, TruncatedStreamsAreErrorsThatSayWhere) {
  std::string archive = Member("base/1/1259", std::string(2000, 'y')) + Member("global/pg_control", "ctl");
  // Inside a header, inside data, inside padding.
  for (size_t cut : {size_t{100}, size_t{512 + 1000}, size_t{512 + 2040}, archive.size() - 511}) {
    Read r = ReadAll(archive.substr(0, cut), 64);
    ASSERT_FALSE(r.status.ok()) << "cut at " << cut;
    EXPECT_EQ(r.status.code(), Code::kMalformed);
    EXPECT_NE(r.status.message().find("the test archive ends"), std::string::npos) << r.status.message();
    EXPECT_NE(r.status.hint().find("take it again"), std::string::npos);
  }
  Read inside_data = ReadAll(archive.substr(0, 1500), 64);
  EXPECT_NE(inside_data.status.message().find("inside the data of base/1/1259"), std::string::npos)
      << inside_data.status.message();
  // Cut exactly at a member boundary: complete as far as tar can tell.
  Read boundary = ReadAll(archive.substr(0, 512 + 2048), 64);
  EXPECT_TRUE(boundary.status.ok());
  EXPECT_EQ(boundary.entries.size(), 1u);
}

TEST(TarReader, DamagedHeaderFailsItsChecksum) {
  std::string archive = Member("PG_VERSION", "15\n") + Member("base/1/1259", "data");
  archive[512 + 512 + 3] ^= 0x20;  // a letter of the second member's name
  Read r = ReadAll(archive, 512);
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), Code::kMalformed);
  EXPECT_NE(r.status.message().find("the tar header at byte 1024 fails its checksum"), std::string::npos)
      << r.status.message();
  EXPECT_EQ(r.entries.size(), 1u);  // the first member was read
  // A source error comes through as it is.
  TarReader failing([](std::string*) -> Result<bool> { return Status::Connection("lost the stream"); }, "x");
  auto e = failing.Next();
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "lost the stream");
}

}  // namespace
}  // namespace pgk::physical
