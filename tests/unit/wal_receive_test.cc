// wal-receive's pure parts: replication messages, the start point, and the spool's
// files (lock, partial segments, ready order) in a private temp dir.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "common/fs.h"
#include "wal/receive_protocol.h"
#include "wal/receive_spool.h"
#include "wal/receive_start.h"
#include "wal/segment.h"

namespace pgk::wal {

namespace {

constexpr uint64_t k16M = kDefaultSegmentSize;

std::string Be64(uint64_t v) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  return out;
}

WalFile Segment(uint32_t tli, uint64_t segno) {
  return {.kind = WalFileKind::kSegment, .timeline = tli, .segno = segno, .name = SegmentFileName(tli, segno, k16M)};
}

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(WalReceiveProtocol, ParsesXLogData) {
  std::string msg = "w" + Be64(0x16B374D848) + Be64(0x16B3750000) + Be64(12345) + "WAL bytes";
  auto m = replication::ParseMessage(msg);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto* d = std::get_if<replication::XLogData>(&*m);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->start, 0x16B374D848u);
  EXPECT_EQ(d->server_end, 0x16B3750000u);
  EXPECT_EQ(d->send_time_us, 12345);
  EXPECT_EQ(d->data, "WAL bytes");
  // An XLogData with no bytes is valid (the header alone).
  m = replication::ParseMessage("w" + Be64(1) + Be64(2) + Be64(3));
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(std::get<replication::XLogData>(*m).data.empty());
}

TEST(WalReceiveProtocol, ParsesKeepalives) {
  for (bool reply : {false, true}) {
    std::string msg = "k" + Be64(0x3000000) + Be64(99) + std::string(1, reply ? 1 : 0);
    auto m = replication::ParseMessage(msg);
    ASSERT_TRUE(m.ok());
    auto& k = std::get<replication::Keepalive>(*m);
    EXPECT_EQ(k.server_end, 0x3000000u);
    EXPECT_EQ(k.send_time_us, 99);
    EXPECT_EQ(k.reply_requested, reply);
  }
}

TEST(WalReceiveProtocol, RejectsTruncatedAndUnknownMessages) {
  EXPECT_EQ(replication::ParseMessage("").status().code(), Code::kMalformed);
  EXPECT_EQ(replication::ParseMessage("w" + Be64(1)).status().code(), Code::kMalformed);
  EXPECT_EQ(replication::ParseMessage("k" + Be64(1) + Be64(2)).status().code(), Code::kMalformed);
  EXPECT_EQ(replication::ParseMessage("x123").status().code(), Code::kMalformed);
}

TEST(WalReceiveProtocol, EncodesStandbyStatus) {
  std::string s = replication::EncodeStatus(
      {.write = 0x0102030405060708, .flush = 0x1000, .apply = 0, .now_us = -2, .reply_requested = true});
  ASSERT_EQ(s.size(), 34u);
  EXPECT_EQ(s[0], 'r');
  EXPECT_EQ(s.substr(1, 8), Be64(0x0102030405060708));
  EXPECT_EQ(s.substr(9, 8), Be64(0x1000));
  EXPECT_EQ(s.substr(17, 8), Be64(0));
  EXPECT_EQ(s.substr(25, 8), Be64(static_cast<uint64_t>(-2)));
  EXPECT_EQ(s[33], 1);
}

TEST(WalReceiveProtocol, TimeIsMicrosecondsSince2000) {
  auto t2000 = std::chrono::system_clock::time_point(std::chrono::seconds(946684800));
  EXPECT_EQ(replication::PgTimeMicros(t2000), 0);
  EXPECT_EQ(replication::PgTimeMicros(t2000 + std::chrono::milliseconds(1500)), 1500000);
}

TEST(WalReceiveStart, FreshServerStartsAtTheCurrentSegment) {
  StartInputs in{.segment_size = k16M, .server_timeline = 1, .server_lsn = 0x3000148};
  EXPECT_EQ(ChooseStart(in), (StartPoint{1, 0x3000000, "server"}));
}

TEST(WalReceiveStart, SlotBeatsTheServerPosition) {
  StartInputs in{.segment_size = k16M, .server_timeline = 2, .server_lsn = 0x9000000};
  in.slot_restart_lsn = 0x5000060;
  in.slot_restart_timeline = 2;
  EXPECT_EQ(ChooseStart(in), (StartPoint{2, 0x5000000, "slot"}));
  in.slot_restart_lsn = 0;  // created without reserving WAL
  EXPECT_EQ(ChooseStart(in).source, "server");
}

TEST(WalReceiveStart, ResumesThePartialOrFollowsTheArchive) {
  StartInputs in{.segment_size = k16M, .server_timeline = 1, .server_lsn = 0x9000000};
  in.slot_restart_lsn = 0x2000000;
  in.spool_partial = Segment(1, 5);
  EXPECT_EQ(ChooseStart(in), (StartPoint{1, 0x5000000, "spool"}));
  // The archive is further along (archive_command ran meanwhile): no need to receive again.
  in.archive_newest = Segment(1, 7);
  EXPECT_EQ(ChooseStart(in), (StartPoint{1, 0x8000000, "archive"}));
  // The archive holds the partial's segment: ties and lower go to the spool.
  in.archive_newest = Segment(1, 4);
  EXPECT_EQ(ChooseStart(in), (StartPoint{1, 0x5000000, "spool"}));
  in.spool_partial.reset();
  EXPECT_EQ(ChooseStart(in), (StartPoint{1, 0x5000000, "archive"}));
}

TEST(WalReceiveStart, PrefersTheNewerTimelineAndIgnoresPositionsAheadOfTheServer) {
  StartInputs in{.segment_size = k16M, .server_timeline = 2, .server_lsn = 0x9000000};
  in.archive_newest = Segment(1, 8);
  in.spool_partial = Segment(2, 6);
  EXPECT_EQ(ChooseStart(in), (StartPoint{2, 0x6000000, "spool"}));
  // A position beyond the server's (restored to an earlier point): not waited for.
  in.spool_partial.reset();
  in.archive_newest = Segment(2, 0x20);
  EXPECT_EQ(ChooseStart(in), (StartPoint{2, 0x9000000, "server"}));
  // A timeline above the server's is not this server's.
  in.archive_newest = Segment(3, 1);
  EXPECT_EQ(ChooseStart(in).source, "server");
}

TEST(WalReceiveStart, EndOfTimelineHistoryIsParsed) {
  // What TIMELINE_HISTORY returns after a promotion; the receiver checks it before storing it.
  auto h = ParseTimelineHistory("1\t0/3000000\tno recovery target specified\n\n2\t0/5000A8\tbefore 2026-01-01\n");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[1].parent_timeline, 2u);
  EXPECT_EQ((*h)[1].switch_lsn, 0x5000A8u);
  EXPECT_FALSE(ParseTimelineHistory("garbage\n").ok());
}

class WalReceiveSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = fs::TempDir::Create("pgk-recv-spool");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<fs::TempDir>(std::move(d).value());
  }
  std::filesystem::path spool() const { return dir_->path() / "spool"; }
  std::unique_ptr<fs::TempDir> dir_;
};

TEST_F(WalReceiveSpoolTest, OneReceiverPerSpool) {
  auto a = ReceiveSpool::Open(spool(), "file:///repo");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = ReceiveSpool::Open(spool(), "file:///other-repo");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kRefused);
  EXPECT_NE(b.status().message().find("another wal-receive (pid " + std::to_string(::getpid()) + ")"),
            std::string::npos)
      << b.status().message();
  a->reset();
  EXPECT_TRUE(ReceiveSpool::Open(spool(), "file:///repo").ok());
  struct stat st {};
  ASSERT_EQ(::stat(spool().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(WalReceiveSpoolTest, PartialSegmentsMoveToReadyWhole) {
  constexpr uint64_t kSeg = uint64_t{1} << 20;
  auto s = ReceiveSpool::Open(spool(), "file:///repo");
  ASSERT_TRUE(s.ok());
  WalFile seg{.kind = WalFileKind::kSegment, .timeline = 1, .segno = 3, .name = SegmentFileName(1, 3, kSeg)};
  {
    auto p = PartialSegment::Open(**s, seg, kSeg);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_TRUE((*p)->Write(0, std::string(100, 'a')).ok());
    ASSERT_TRUE((*p)->Sync().ok());
  }
  ASSERT_EQ((*s)->Partials(kSeg).size(), 1u);
  EXPECT_EQ((*s)->Partials(kSeg)[0], seg);
  struct stat st {};
  ASSERT_EQ(::stat((*s)->PartialPath(seg).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Reopened after a restart: written over in place, never truncated.
  auto p = PartialSegment::Open(**s, seg, kSeg);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE((*p)->Write(0, std::string(10, 'b')).ok());
  EXPECT_EQ(ReadAll((*s)->PartialPath(seg)), std::string(10, 'b') + std::string(90, 'a'));
  EXPECT_FALSE((*p)->Write(kSeg - 5, std::string(10, 'c')).ok());  // past the segment's end
  ASSERT_TRUE((*p)->Write(100, std::string(kSeg - 100, 'c')).ok());
  ASSERT_TRUE((*p)->Complete().ok());
  EXPECT_TRUE((*s)->Partials(kSeg).empty());
  EXPECT_EQ(std::filesystem::file_size((*s)->ready_dir() / seg.name), kSeg);

  // An ended timeline's segment is zero-filled to full size, named .partial.
  WalFile seg4{.kind = WalFileKind::kSegment, .timeline = 1, .segno = 4, .name = SegmentFileName(1, 4, kSeg)};
  auto q = PartialSegment::Open(**s, seg4, kSeg);
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE((*q)->Write(0, "xyz").ok());
  ASSERT_TRUE((*q)->EndOfTimeline().ok());
  std::string bytes = ReadAll((*s)->ready_dir() / (seg4.name + ".partial"));
  ASSERT_EQ(bytes.size(), kSeg);
  EXPECT_EQ(bytes.substr(0, 4), std::string("xyz\0", 4));
}

TEST_F(WalReceiveSpoolTest, ReadyFilesComeHistoryFirstThenInWalOrder) {
  auto s = ReceiveSpool::Open(spool(), "file:///repo");
  ASSERT_TRUE(s.ok());
  for (const char* n : {"000000020000000000000005", "00000002.history", "000000010000000000000004.partial",
                        "000000010000000000000003", "000000010000000000000003.tmp.123", "junk"}) {
    ASSERT_TRUE(fs::WriteFile((*s)->ready_dir() / n, "x").ok());
  }
  EXPECT_EQ((*s)->Ready(k16M),
            (std::vector<std::string>{"00000002.history", "000000010000000000000003",
                                      "000000010000000000000004.partial", "000000020000000000000005"}));
  // The next receiver (after a crash) clears the temporary copy, and only that.
  s->reset();
  s = ReceiveSpool::Open(spool(), "file:///repo");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(std::filesystem::exists((*s)->ready_dir() / "000000010000000000000003.tmp.123"));
  EXPECT_TRUE(std::filesystem::exists((*s)->ready_dir() / "000000010000000000000003"));
  EXPECT_TRUE(std::filesystem::exists((*s)->ready_dir() / "junk"));
}

}  // namespace pgk::wal
