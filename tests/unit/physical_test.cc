// Physical backups, the pure parts: page checks, data directory rules, incremental
// decisions, recovery targets and the manifest's physical fields.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/fs.h"
#include "physical/incremental.h"
#include "physical/page_checksum.h"
#include "physical/pgdata.h"
#include "physical/recovery.h"
#include "physical/restore_fs.h"
#include "repo/manifest.h"
#include "repo/retention.h"

namespace pgk::physical {
namespace {

constexpr size_t kBlock = 8192;

// An initialised page: pd_lsn, pd_lower/pd_upper/pd_special set, some tuple bytes.
std::vector<char> MakePage(uint64_t lsn, uint32_t blkno) {
  std::vector<char> page(kBlock, 0);
  uint32_t hi = static_cast<uint32_t>(lsn >> 32), lo = static_cast<uint32_t>(lsn);
  std::memcpy(page.data(), &hi, 4);
  std::memcpy(page.data() + 4, &lo, 4);
  uint16_t lower = 28, upper = 8000, special = 8192, version = 8192 | 4;
  std::memcpy(page.data() + 12, &lower, 2);
  std::memcpy(page.data() + 14, &upper, 2);
  std::memcpy(page.data() + 16, &special, 2);
  std::memcpy(page.data() + 18, &version, 2);
  for (size_t i = 8000; i < kBlock; ++i) page[i] = static_cast<char>(i * 7);
  uint16_t sum = PageChecksum(page.data(), kBlock, blkno);
  std::memcpy(page.data() + 8, &sum, 2);
  return page;
}

TEST(PageChecksum, VerdictsForGoodCorruptNewAndRecentPages) {
  auto page = MakePage(0x100, 5);
  EXPECT_EQ(CheckPage(page.data(), kBlock, 5, 0x1000), PageVerdict::kOk);
  // The block number is part of the checksum: a page in the wrong place fails.
  EXPECT_EQ(CheckPage(page.data(), kBlock, 6, 0x1000), PageVerdict::kBad);
  page[8100] ^= 1;
  EXPECT_EQ(CheckPage(page.data(), kBlock, 5, 0x1000), PageVerdict::kBad);
  // Written after the backup started: WAL replay restores it, so it is not judged.
  auto recent = MakePage(0x2000, 5);
  recent[8100] ^= 1;
  EXPECT_EQ(CheckPage(recent.data(), kBlock, 5, 0x1000), PageVerdict::kTooNew);
  std::vector<char> zero(kBlock, 0);
  EXPECT_EQ(CheckPage(zero.data(), kBlock, 0, 0x1000), PageVerdict::kNew);
  zero[100] = 1;  // pd_upper 0 but not all zeros
  EXPECT_EQ(CheckPage(zero.data(), kBlock, 0, 0x1000), PageVerdict::kBad);
}

TEST(PageChecksum, StoredChecksumDoesNotInfluenceTheComputedOne) {
  auto page = MakePage(0x100, 1);
  uint16_t sum = PageChecksum(page.data(), kBlock, 1);
  uint16_t other = static_cast<uint16_t>(sum + 1);
  std::memcpy(page.data() + 8, &other, 2);
  EXPECT_EQ(PageChecksum(page.data(), kBlock, 1), sum);
  EXPECT_NE(sum, 0);
}

TEST(Pgdata, RelationFileNames) {
  std::string rel, fork;
  uint32_t seg = 0;
  EXPECT_TRUE(ParseRelationFile("16384", &rel, &fork, &seg));
  EXPECT_EQ(rel, "16384");
  EXPECT_EQ(fork, "");
  EXPECT_TRUE(ParseRelationFile("16384.2", &rel, &fork, &seg));
  EXPECT_EQ(seg, 2u);
  EXPECT_TRUE(ParseRelationFile("16384_vm.1", &rel, &fork, &seg));
  EXPECT_EQ(fork, "vm");
  EXPECT_EQ(seg, 1u);
  EXPECT_TRUE(ParseRelationFile("16384_init", &rel, &fork, &seg));
  EXPECT_FALSE(ParseRelationFile("pg_filenode.map", &rel, &fork, &seg));
  EXPECT_FALSE(ParseRelationFile("PG_VERSION", &rel, &fork, &seg));
  EXPECT_FALSE(ParseRelationFile("16384_foo", &rel, &fork, &seg));
  EXPECT_FALSE(ParseRelationFile("16384.", &rel, &fork, &seg));
}

TEST(Pgdata, UnloggedAndTemporaryRelations) {
  auto unlogged = UnloggedRelations({"16384", "16385", "16385_init", "16385_fsm", "16386_vm"});
  EXPECT_EQ(unlogged, std::set<std::string>{"16385"});
  EXPECT_TRUE(IsTempRelation("t3_16390"));
  EXPECT_TRUE(IsTempRelation("t12_16390_fsm"));
  EXPECT_FALSE(IsTempRelation("16390"));
  EXPECT_FALSE(IsTempRelation("tablespace"));
}

TEST(Pgdata, ExclusionsFollowPgBasebackup) {
  for (const char* f : {"postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map", "recovery.signal",
                        "standby.signal", "postgresql.auto.conf.tmp", "global/pg_internal.init",
                        "base/1/pg_internal.init.123", "base/pgsql_tmp/pgsql_tmp1.0"}) {
    EXPECT_TRUE(ExcludedFile(f)) << f;
  }
  for (const char* f : {"PG_VERSION", "postgresql.auto.conf", "global/pg_control", "base/1/1259", "pg_xact/0000",
                        "log/backup_label"}) {
    EXPECT_FALSE(ExcludedFile(f)) << f;
  }
  for (const char* d : {"pg_wal", "pg_replslot", "pg_stat_tmp", "pg_subtrans", "pg_notify", "pg_serial",
                        "pg_snapshots", "pg_dynshmem"}) {
    EXPECT_TRUE(ContentsExcluded(d)) << d;
  }
  EXPECT_TRUE(ContentsExcluded("pg_wal/archive_status"));  // .done files were copied
  EXPECT_FALSE(ContentsExcluded("base"));
  EXPECT_FALSE(ContentsExcluded("pg_xact"));
}

TEST(Pgdata, PageCheckedPaths) {
  uint32_t seg = 0;
  EXPECT_TRUE(IsPageCheckedPath("base/16384/16390.3", &seg));
  EXPECT_EQ(seg, 3u);
  EXPECT_TRUE(IsPageCheckedPath("global/1260", &seg));
  EXPECT_TRUE(IsPageCheckedPath("pg_tblspc/16400/PG_15_202209061/16384/16401", &seg));
  EXPECT_FALSE(IsPageCheckedPath("global/pg_control", &seg));
  EXPECT_FALSE(IsPageCheckedPath("base/16384/pg_filenode.map", &seg));
  EXPECT_FALSE(IsPageCheckedPath("pg_xact/0000", &seg));
}

repo::Manifest Physical(const std::string& id, const std::string& mode, int64_t stop_us, const std::string& stop_lsn,
                        const std::string& sysid = "42") {
  repo::Manifest m;
  m.id = id;
  m.type = "physical";
  repo::PhysicalInfo p;
  p.mode = mode;
  p.system_identifier = sysid;
  p.pg_version_num = 150004;
  p.timeline = 1;
  p.start_us = stop_us - 1000000;
  p.stop_us = stop_us;
  p.start_lsn = "0/1000000";
  p.stop_lsn = stop_lsn;
  p.stop_xmin = "1000";
  m.physical = p;
  return m;
}

TEST(Incremental, ChoosesTheRightReference) {
  repo::Manifest logical;
  logical.id = "20260101T000000Z-L";
  logical.type = "logical";
  std::vector<repo::Manifest> backups = {Physical("a-F", "full", 10, "0/2000000"), Physical("b-I", "incr", 20, "0/3000000"),
                                         Physical("c-F", "full", 30, "0/4000000", "other-cluster"), logical};
  auto incr = ChooseReference(backups, "incr", "42", 150002);
  EXPECT_EQ(incr.mode, "incr");
  ASSERT_TRUE(incr.prior);
  EXPECT_EQ(incr.prior->id, "b-I");
  auto diff = ChooseReference(backups, "diff", "42", 150002);
  ASSERT_TRUE(diff.prior);
  EXPECT_EQ(diff.prior->id, "a-F");
  auto none = ChooseReference(backups, "incr", "7", 150002);
  EXPECT_EQ(none.mode, "full");
  EXPECT_FALSE(none.prior);
  EXPECT_FALSE(none.note.empty());
  auto major = ChooseReference(backups, "incr", "42", 160000);
  EXPECT_EQ(major.mode, "full");
  EXPECT_EQ(ChooseReference(backups, "full", "42", 150002).prior, std::nullopt);
}

TEST(Incremental, ReusesOnlyWhatIsSafelyUnchanged) {
  repo::ManifestFile f;
  f.original_size = 8192;
  f.mtime_ns = 5'000'000'000;
  int64_t prior_start_us = 10'000'000;  // 10 s: the file's 5 s is safely older
  EXPECT_EQ(DecideReuse(f, prior_start_us, 8192, 5'000'000'000), Reuse::kReference);
  EXPECT_EQ(DecideReuse(f, prior_start_us, 16384, 5'000'000'000), Reuse::kCopy);
  EXPECT_EQ(DecideReuse(f, prior_start_us, 8192, 6'000'000'000), Reuse::kCopy);
  // Written within a second of the prior backup's start: the time alone proves nothing.
  EXPECT_EQ(DecideReuse(f, 5'500'000, 8192, 5'000'000'000), Reuse::kCompare);
  f.page_errors = {3};
  EXPECT_EQ(DecideReuse(f, prior_start_us, 8192, 5'000'000'000), Reuse::kCopy);
  repo::Manifest prior;
  prior.id = "p";
  repo::ManifestFile own, referenced;
  referenced.reference = "older";
  EXPECT_EQ(StoredIn(prior, own), "p");
  EXPECT_EQ(StoredIn(prior, referenced), "older");
}

TEST(Recovery, ParsesTimestamps) {
  auto base = ParseTimestamp("2026-01-02 03:04:05");
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(*base, 1767323045LL * 1000000);
  EXPECT_EQ(*ParseTimestamp("2026-01-02T03:04:05Z"), *base);
  EXPECT_EQ(*ParseTimestamp("2026-01-02 03:04:05+00"), *base);
  EXPECT_EQ(*ParseTimestamp("2026-01-02 05:04:05+02"), *base);
  EXPECT_EQ(*ParseTimestamp("2026-01-02 05:34:05+02:30"), *base);
  EXPECT_EQ(*ParseTimestamp("2026-01-01 22:04:05-0500"), *base);
  EXPECT_EQ(*ParseTimestamp("2026-01-02 03:04:05.25+00"), *base + 250000);
  EXPECT_EQ(*ParseTimestamp("2026-01-02 03:04:05.123456789"), *base + 123456);
  for (const char* bad : {"", "yesterday", "2026-01-02", "2026-13-02 03:04:05", "2026-01-02 03:04:05 CET",
                          "2026-01-02 03:04:05+2", "2026-01-02 03:04:05."}) {
    EXPECT_FALSE(ParseTimestamp(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatTimestampUtc(*base + 250000), "2026-01-02 03:04:05.250000+00");
}

TEST(Recovery, ParsesTargets) {
  auto latest = ParseTarget({});
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->kind, RecoveryTarget::Kind::kLatest);
  EXPECT_FALSE(ParseTarget({.time = "2026-01-02 03:04:05", .lsn = "0/1"}).ok());
  EXPECT_FALSE(ParseTarget({.xid = "abc"}).ok());
  EXPECT_FALSE(ParseTarget({.lsn = "zz"}).ok());
  EXPECT_FALSE(ParseTarget({.immediate = true, .exclusive = true}).ok());
  EXPECT_FALSE(ParseTarget({.timeline = "newest"}).ok());
  EXPECT_FALSE(ParseTarget({.action = "promote"}).ok());  // no target to act at
  auto lsn = ParseTarget({.lsn = "0/3000028", .exclusive = true, .timeline = "2", .action = "pause"});
  ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
  EXPECT_EQ(lsn->lsn, 0x3000028u);
  EXPECT_EQ(lsn->value, "0/3000028");
  auto time = ParseTarget({.time = "2026-01-02 05:04:05+02"});
  ASSERT_TRUE(time.ok());
  EXPECT_EQ(time->value, "2026-01-02 03:04:05.000000+00");
}

TEST(Recovery, ChoosesTheNewestBackupThatCanReachTheTarget) {
  std::vector<repo::Manifest> backups = {Physical("1-F", "full", 100'000'000, "0/2000000"),
                                         Physical("2-I", "incr", 200'000'000, "0/4000000"),
                                         Physical("3-I", "incr", 300'000'000, "0/6000000")};
  backups[0].physical->stop_xmin = "500";
  backups[1].physical->stop_xmin = "700";
  backups[2].physical->stop_xmin = "900";
  auto pick = [&](const TargetFlags& f) {
    auto t = ParseTarget(f);
    EXPECT_TRUE(t.ok());
    auto m = ChooseBackup(backups, *t);
    return m.ok() ? m->id : "none: " + m.status().message();
  };
  EXPECT_EQ(pick({}), "3-I");
  EXPECT_EQ(pick({.immediate = true}), "3-I");
  EXPECT_EQ(pick({.time = "1970-01-01 00:04:00+00"}), "2-I");  // 240 s
  EXPECT_EQ(pick({.time = "1970-01-01 00:03:20+00"}), "2-I");  // exactly the stop
  EXPECT_EQ(pick({.time = "1970-01-01 00:01:00+00"}).rfind("none", 0), 0u);
  EXPECT_EQ(pick({.lsn = "0/5000000"}), "2-I");
  EXPECT_EQ(pick({.lsn = "0/2000000"}), "1-F");
  EXPECT_EQ(pick({.xid = "800"}), "2-I");
  EXPECT_EQ(pick({.xid = "600"}), "1-F");
  backups[2].physical->timeline = 2;
  EXPECT_EQ(pick({.timeline = "1"}), "2-I");
}

TEST(Recovery, SettingsAndAutoConf) {
  auto t = ParseTarget({.name = "before 'upgrade'", .action = "pause"});
  ASSERT_TRUE(t.ok());
  auto settings = RecoverySettings(*t, "'/usr/bin/pgkeeper' wal-fetch %f %p --repo '/r'");
  ASSERT_EQ(settings.size(), 3u);
  EXPECT_EQ(settings[0], "restore_command = '''/usr/bin/pgkeeper'' wal-fetch %f %p --repo ''/r'''");
  EXPECT_EQ(settings[1], "recovery_target_name = 'before ''upgrade'''");
  EXPECT_EQ(settings[2], "recovery_target_action = 'pause'");
  EXPECT_EQ(RecoverySettings(*ParseTarget({}), "x").size(), 1u);
  std::string conf = "# Do not edit this file manually!\nwork_mem = '8MB'\nrestore_command = 'cp %p x'\n"
                     "recovery_target_time = '2020-01-01'\n";
  std::string out = RewriteAutoConf(conf, {"restore_command = 'new'"}, "written by pgkeeper");
  EXPECT_NE(out.find("work_mem = '8MB'\n"), std::string::npos);
  EXPECT_NE(out.find("# restore_command = 'cp %p x'"), std::string::npos);
  EXPECT_NE(out.find("# recovery_target_time = '2020-01-01'"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 24), "restore_command = 'new'\n");
}

TEST(PhysicalManifest, RoundTripsAsFormat2AndCountsOnlyOwnBytes) {
  repo::Manifest m = Physical("20260101T000000Z-I", "incr", 5, "0/3000000");
  m.physical->reference = "20251231T000000Z-F";
  m.physical->paths = {{.path = "base", .mode = 0700}, {.path = "pg_tblspc/16400", .link = true, .target = "/t", .mode = 0777}};
  repo::ManifestFile own;
  own.name = "pgdata/base/1/1259";
  own.kind = "pgdata";
  own.original_size = 8192;
  own.stored_size = 100;
  own.mode = 0600;
  own.mtime_ns = 1767323045123456789;
  own.page_errors = {2, 7};
  repo::ManifestFile ref = own;
  ref.name = "pgdata/base/1/1249";
  ref.reference = "20251231T000000Z-F";
  ref.page_errors.clear();
  m.files = {own, ref};
  EXPECT_EQ(m.stored_bytes(), 100u);
  EXPECT_EQ(m.original_bytes(), 16384u);
  std::string text = repo::SerializeManifest(m);
  EXPECT_NE(text.find("\"format\": 2"), std::string::npos);
  EXPECT_NE(text.find("\"mode\": \"0600\""), std::string::npos);
  auto back = repo::ParseManifest(text, "m");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  m.format = 2;
  EXPECT_EQ(*back, m);
  std::string bad = text;
  bad.replace(bad.find("\"reference\": \"20251231T000000Z-F\""), 34, "\"reference\": \"../../x\"");
  EXPECT_FALSE(repo::ParseManifest(bad, "m").ok());
  EXPECT_EQ(repo::BackupId(0, "incr"), "19700101T000000Z-I");
  EXPECT_EQ(repo::BackupId(0, "full"), "19700101T000000Z-F");
}

TEST(PhysicalRetention, BackupsOthersReferToAreKept) {
  // keep_last 1 keeps only the newest incremental; it refers to files of the full and of
  // the first incremental, which must survive; the unrelated older full goes.
  std::vector<repo::RetentionItem> items = {{"0-F", 0}, {"1-F", 100}, {"2-I", 200}, {"3-I", 300}};
  auto decisions = repo::ApplyRetention(items, {.keep_last = 1}, 1000);
  repo::KeepReferenced(&decisions, {{"3-I", {"1-F", "2-I"}}, {"2-I", {"1-F"}}});
  std::map<std::string, bool> keep;
  for (const auto& d : decisions) keep[d.id] = d.keep;
  EXPECT_FALSE(keep["0-F"]);
  EXPECT_TRUE(keep["1-F"]);
  EXPECT_TRUE(keep["2-I"]);
  EXPECT_TRUE(keep["3-I"]);
  for (const auto& d : decisions) {
    if (d.id == "2-I") {
      EXPECT_EQ(d.reasons, std::vector<std::string>{"needed by 3-I"});
    }
  }
}

// The physical restore's one sync pass: every file is waited for, and one that cannot be
// synced (here: removed meanwhile) fails the pass, named, so pg_control is never written.
TEST(RestoreFs, SyncFilesNamesTheFileItCouldNotSync) {
  auto dir = fs::TempDir::Create("pgk-unit-");
  ASSERT_TRUE(dir.ok());
  std::vector<std::string> paths;
  for (int i = 0; i < 8; ++i) {
    paths.push_back((dir->path() / ("f" + std::to_string(i))).string());
    ASSERT_TRUE(fs::WriteFile(paths.back(), "data").ok());
  }
  EXPECT_TRUE(SyncFiles(paths, 2).ok());
  std::string gone = (dir->path() / "vanished").string();
  paths.insert(paths.begin() + 3, gone);
  Status s = SyncFiles(paths, 2);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot fsync"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find(gone), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace pgk::physical
