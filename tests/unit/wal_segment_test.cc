// WAL file names, LSN arithmetic, stored-path naming, continuity and retention planning.
#include <gtest/gtest.h>

#include "repo/wal_info.h"
#include "wal/archive.h"
#include "wal/segment.h"
#include "wal/setup.h"

namespace pgk::wal {

namespace {

constexpr uint64_t k16M = kDefaultSegmentSize;
constexpr uint64_t k64M = uint64_t{64} << 20;
constexpr uint64_t k1M = uint64_t{1} << 20;
const std::string kSha(64, 'a');

StoredWal Seg(uint32_t tli, uint64_t segno, WalFileKind kind = WalFileKind::kSegment) {
  StoredWal s;
  s.file = {.kind = kind, .timeline = tli, .segno = segno, .name = SegmentFileName(tli, segno, k16M)};
  if (kind == WalFileKind::kTimelineHistory) s.file.name = HistoryFileName(tli);
  if (kind == WalFileKind::kPartial) s.file.name += ".partial";
  s.path = StoredPath(s.file, kSha, pipeline::Compression::kZstd, pipeline::Cipher::kNone);
  s.sha256 = kSha;
  return s;
}

}  // namespace

TEST(WalSegment, ParsesSegmentNames) {
  auto f = ParseWalFileName("000000010000000000000003", k16M);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->kind, WalFileKind::kSegment);
  EXPECT_EQ(f->timeline, 1u);
  EXPECT_EQ(f->segno, 3u);
  // log 1, seg 0x10 with 16 MB segments: 256 segments per log.
  f = ParseWalFileName("0000000A0000000100000010", k16M);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->timeline, 10u);
  EXPECT_EQ(f->segno, 256u + 16u);
}

TEST(WalSegment, SegmentsPerLogDependOnSegmentSize) {
  // 64 MB segments: 64 per log, so seg 0x40 does not exist.
  EXPECT_FALSE(ParseWalFileName("000000010000000000000040", k64M).ok());
  auto f = ParseWalFileName("00000001000000020000003F", k64M);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->segno, 2u * 64 + 63);
  // 1 MB segments: 4096 per log.
  f = ParseWalFileName("0000000100000001000007FF", k1M);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->segno, 4096u + 0x7FF);
  EXPECT_EQ(SegmentFileName(1, 4096 + 0x7FF, k1M), "0000000100000001000007FF");
}

TEST(WalSegment, ParsesOtherKinds) {
  auto p = ParseWalFileName("000000020000000000000007.partial", k16M);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->kind, WalFileKind::kPartial);
  EXPECT_EQ(p->segno, 7u);
  auto b = ParseWalFileName("000000010000000000000002.00000028.backup", k16M);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->kind, WalFileKind::kBackupHistory);
  EXPECT_EQ(b->offset, 0x28u);
  EXPECT_EQ(b->segno, 2u);
  auto h = ParseWalFileName("00000003.history", k16M);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->kind, WalFileKind::kTimelineHistory);
  EXPECT_EQ(h->timeline, 3u);
  EXPECT_EQ(HistoryFileName(3), "00000003.history");
}

TEST(WalSegment, RejectsOtherNames) {
  for (const char* bad :
       {"", "00000001000000000000000", "0000000100000000000000033", "00000001000000000000000g",
        "00000001000000000000000a", "000000010000000000000003.ready", "RECOVERYXLOG", "00000001.histor",
        "000000010000000000000002.0000002.backup", "../000000010000000000000003"}) {
    EXPECT_FALSE(ParseWalFileName(bad, k16M).ok()) << bad;
  }
  EXPECT_FALSE(ParseWalFileName("000000010000000000000003", 3 << 20).ok());  // not a power of two
}

TEST(WalSegment, NextSegmentCrossesLogBoundary) {
  auto f = ParseWalFileName("0000000100000000000000FF", k16M);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(SegmentFileName(1, f->segno + 1, k16M), "000000010000000100000000");
}

TEST(WalSegment, LsnArithmetic) {
  auto lsn = ParseLsn("16/B374D848");
  ASSERT_TRUE(lsn.ok());
  EXPECT_EQ(*lsn, 0x16B374D848u);
  EXPECT_EQ(FormatLsn(*lsn), "16/B374D848");
  EXPECT_EQ(FormatLsn(0), "0/0");
  EXPECT_FALSE(ParseLsn("16B374D848").ok());
  EXPECT_FALSE(ParseLsn("1/").ok());
  EXPECT_FALSE(ParseLsn("x/1").ok());
  EXPECT_EQ(SegmentOf(0x3000028, k16M), 3u);
  EXPECT_EQ(SegmentStartLsn(3, k16M), 0x3000000u);
  EXPECT_EQ(SegmentBefore(0x3000000, k16M), 2u);  // a record ending at the boundary lives in 2
  EXPECT_EQ(SegmentBefore(0x3000001, k16M), 3u);
  EXPECT_EQ(SegmentFileName(1, SegmentOf(*lsn, k16M), k16M), "0000000100000016000000B3");
}

TEST(WalSegment, ParsesTimelineHistory) {
  auto h =
      ParseTimelineHistory("1\t0/3000000\tno recovery target specified\n\n# comment\n2\t0/5000A8\tbefore 2026-11-22\n");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].parent_timeline, 1u);
  EXPECT_EQ((*h)[0].switch_lsn, 0x3000000u);
  EXPECT_EQ((*h)[1].reason, "before 2026-11-22");
  EXPECT_FALSE(ParseTimelineHistory("one\t0/1\n").ok());
}

TEST(WalArchivePaths, RoundTrip) {
  auto f = ParseWalFileName("000000010000000200000003", k16M);
  ASSERT_TRUE(f.ok());
  std::string path = StoredPath(*f, kSha, pipeline::Compression::kZstd, pipeline::Cipher::kAes256Gcm);
  EXPECT_EQ(path, "wal/0000000100000002/000000010000000200000003-" + kSha + ".zst.enc");
  auto s = ParseStoredPath(path, k16M);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->file, *f);
  EXPECT_EQ(s->sha256, kSha);
  EXPECT_EQ(s->compression, pipeline::Compression::kZstd);
  EXPECT_EQ(s->cipher, pipeline::Cipher::kAes256Gcm);

  auto h = ParseWalFileName("00000002.history", k16M);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(StoredPath(*h, kSha, pipeline::Compression::kNone, pipeline::Cipher::kNone),
            "wal/history/00000002.history-" + kSha);
  auto b = ParseWalFileName("000000010000000000000002.00000028.backup", k16M);
  ASSERT_TRUE(b.ok());
  auto bs = ParseStoredPath(StoredPath(*b, kSha, pipeline::Compression::kLz4, pipeline::Cipher::kNone), k16M);
  ASSERT_TRUE(bs.ok());
  EXPECT_EQ(bs->file.kind, WalFileKind::kBackupHistory);
  EXPECT_EQ(bs->compression, pipeline::Compression::kLz4);
}

TEST(WalArchivePaths, RejectsDebris) {
  for (const std::string& bad :
       {std::string("wal/archive.json"), "wal/0000000100000000/000000010000000000000003-" + kSha + ".zst.pgk-tmp.12",
        "wal/0000000100000001/000000010000000000000003-" + kSha,  // wrong directory
        "wal/0000000100000000/000000010000000000000003-" + kSha.substr(1),
        std::string("wal/0000000100000000/000000010000000000000003"),
        "backups/0000000100000000/000000010000000000000003-" + kSha}) {
    EXPECT_FALSE(ParseStoredPath(bad, k16M).ok()) << bad;
  }
}

TEST(WalContinuity, RunsGapsAndNewest) {
  std::vector<StoredWal> files = {Seg(1, 1),
                                  Seg(1, 2),
                                  Seg(1, 3),
                                  Seg(1, 6),
                                  Seg(1, 7, WalFileKind::kPartial),
                                  Seg(2, 7),
                                  Seg(2, 8),
                                  Seg(2, 0, WalFileKind::kTimelineHistory)};
  auto s = Summarize(files);
  ASSERT_EQ(s.runs.size(), 3u);
  EXPECT_EQ(s.runs[0], (SegmentRange{1, 1, 3}));
  EXPECT_EQ(s.runs[1], (SegmentRange{1, 6, 6}));
  EXPECT_EQ(s.runs[2], (SegmentRange{2, 7, 8}));
  ASSERT_EQ(s.gaps.size(), 1u);
  EXPECT_EQ(s.gaps[0], (SegmentRange{1, 4, 5}));
  EXPECT_EQ(s.segments, 6u);
  EXPECT_EQ(s.partials, 1u);
  EXPECT_EQ(s.history_timelines, std::vector<uint32_t>{2});
  ASSERT_TRUE(s.newest);
  EXPECT_EQ(s.newest->file.name, SegmentFileName(2, 8, k16M));
}

TEST(WalContinuity, MissingSegmentsOfABackup) {
  std::vector<StoredWal> files = {Seg(1, 2), Seg(1, 4)};
  // start in 2, stop exactly at the start of 5: needs 2..4.
  auto missing = MissingSegments(files, 1, 0x2000028, 0x5000000, k16M);
  EXPECT_EQ(missing, std::vector<std::string>{"000000010000000000000003"});
  EXPECT_TRUE(MissingSegments(files, 1, 0x2000028, 0x2000100, k16M).empty());
  EXPECT_EQ(MissingSegments(files, 2, 0x2000028, 0x2000100, k16M).size(), 1u);  // other timeline
}

TEST(WalRetention, KeepsEverythingWithoutPhysicalBackups) {
  std::vector<StoredWal> files = {Seg(1, 1), Seg(1, 2)};
  auto plan = PlanWalExpire(files, {}, k16M);
  EXPECT_TRUE(plan.remove.empty());
  EXPECT_EQ(plan.keep, 2u);
  EXPECT_NE(plan.reason.find("no physical backup"), std::string::npos);
}

TEST(WalRetention, RemovesWalBeforeTheOldestRetainedBackup) {
  std::vector<StoredWal> files = {Seg(1, 1),
                                  Seg(1, 2),
                                  Seg(1, 3),
                                  Seg(1, 4),
                                  Seg(1, 2, WalFileKind::kPartial),
                                  Seg(2, 0, WalFileKind::kTimelineHistory),
                                  Seg(2, 5)};
  std::vector<BackupWal> retained = {{.backup_id = "b2", .timeline = 1, .start_lsn = 0x4000028, .stop_lsn = 0x4000100},
                                     {.backup_id = "b1", .timeline = 1, .start_lsn = 0x3000028, .stop_lsn = 0x3000100}};
  auto plan = PlanWalExpire(files, retained, k16M);
  std::vector<std::string> removed;
  for (const auto& f : plan.remove) removed.push_back(f.file.name);
  EXPECT_EQ(removed, (std::vector<std::string>{"000000010000000000000001", "000000010000000000000002",
                                               "000000010000000000000002.partial"}));
  EXPECT_EQ(plan.keep, 4u);
  EXPECT_NE(plan.reason.find("b1"), std::string::npos);
}

TEST(WalArchiveInfo, RoundTripKeepsTheIdentifierExact) {
  repo::WalArchiveInfo info;
  info.system_identifier = "7301234567890123457";  // above 2^53
  info.wal_segment_size = k16M;
  info.pg_control_version = 1300;
  info.wal_page_magic = 0xD110;
  info.created = "2026-11-22T01:02:03Z";
  info.cipher = "aes-256-gcm";
  info.wrapped_data_key = "abc";
  info.key_id = "0123456789abcdef";
  auto back = repo::ParseWalArchiveInfo(repo::SerializeWalArchiveInfo(info), "x");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, info);
  EXPECT_FALSE(repo::ParseWalArchiveInfo("{\"format\": 2}", "x").ok());
  EXPECT_FALSE(repo::ParseWalArchiveInfo("[]", "x").ok());
}

TEST(WalCommands, QuotesForTheShellAndEscapesPercent) {
  CommandOptions o{.binary = "/opt/pg keeper/pgkeeper", .repo_url = "/backups/it's/100%", .key_file = "/etc/k.key"};
  EXPECT_EQ(ArchiveCommand(o),
            "'/opt/pg keeper/pgkeeper' wal-push %p --repo '/backups/it'\\''s/100%%' --key-file '/etc/k.key'");
  o.async = true;
  o.spool = "/var/spool/pgk";
  EXPECT_EQ(RestoreCommand(o),
            "'/opt/pg keeper/pgkeeper' wal-fetch %f %p --repo '/backups/it'\\''s/100%%' --key-file "
            "'/etc/k.key' --async --spool '/var/spool/pgk'");
}

TEST(WalSetup, PlansOnlyWhatIsMissing) {
  std::map<std::string, CurrentSetting> cur = {{"wal_level", {"replica"}},
                                               {"archive_mode", {"off"}},
                                               {"archive_command", {""}},
                                               {"archive_library", {""}},
                                               {"archive_timeout", {"0"}}};
  auto plan = PlanArchiving(cur, "'/bin/pgkeeper' wal-push %p --repo '/r'");
  EXPECT_FALSE(plan.ok());
  EXPECT_FALSE(plan.replaces_command);
  std::map<std::string, bool> ok;
  for (const auto& s : plan.settings) ok[s.name] = s.ok;
  EXPECT_TRUE(ok["wal_level"]);
  EXPECT_FALSE(ok["archive_mode"]);
  EXPECT_FALSE(ok["archive_command"]);
  EXPECT_TRUE(ok["archive_library"]);
  EXPECT_FALSE(ok["archive_timeout"]);
  cur["archive_mode"].value = "on";
  cur["archive_command"].value = "pgbackrest --stanza=main archive-push %p";
  cur["archive_timeout"].value = "60";
  plan = PlanArchiving(cur, "'/bin/pgkeeper' wal-push %p --repo '/r'");
  EXPECT_TRUE(plan.replaces_command);
  cur["archive_command"].value = "'/bin/pgkeeper' wal-push %p --repo '/r'";
  EXPECT_TRUE(PlanArchiving(cur, "'/bin/pgkeeper' wal-push %p --repo '/r'").ok());
}

}  // namespace pgk::wal
