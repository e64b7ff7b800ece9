// The BASE_BACKUP copy stream's framing (wal/base_backup_message.h) and the server's
// checksum warnings as data directory paths (physical/stream_copy.h).
#include <gtest/gtest.h>

#include <string>

#include "physical/stream_copy.h"
#include "wal/base_backup_message.h"

namespace pgk {
namespace {

using wal::BaseBackupMessage;

TEST(BaseBackupMessage, DecodesEachTypeAndRefusesTheRest) {
  std::string n("n16385.tar\0/srv/ts\0", 19);
  auto a = wal::DecodeBaseBackupMessage(n);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->kind, BaseBackupMessage::Kind::kNewArchive);
  EXPECT_EQ(a->archive, "16385.tar");
  EXPECT_EQ(a->location, "/srv/ts");
  auto main = wal::DecodeBaseBackupMessage(std::string("nbase.tar\0\0", 11));
  ASSERT_TRUE(main.ok());
  EXPECT_EQ(main->location, "");

  std::string d("d\0\1tar bytes", 12);
  auto data = wal::DecodeBaseBackupMessage(d);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->kind, BaseBackupMessage::Kind::kData);
  EXPECT_EQ(data->data, std::string_view(d).substr(1));

  auto p = wal::DecodeBaseBackupMessage(std::string("p\0\0\0\0\0\1\0\2", 9));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->progress, 65538u);
  EXPECT_EQ(wal::DecodeBaseBackupMessage("m")->kind, BaseBackupMessage::Kind::kManifest);

  EXPECT_EQ(wal::DecodeBaseBackupMessage(std::string("nbase.tar", 9)).status().code(), Code::kMalformed);
  EXPECT_EQ(wal::DecodeBaseBackupMessage("p12").status().code(), Code::kMalformed);
  EXPECT_EQ(wal::DecodeBaseBackupMessage("").status().code(), Code::kMalformed);
  auto unknown = wal::DecodeBaseBackupMessage("zzz");
  EXPECT_EQ(unknown.status().code(), Code::kMalformed);
  EXPECT_NE(unknown.status().message().find("unknown message type 'z'"), std::string::npos);
}

TEST(BaseBackupMessage, CommandAsksForWhatTheBackupNeeds) {
  EXPECT_EQ(wal::BaseBackupCommand("pgkeeper 20260101T000000Z-F", true),
            "BASE_BACKUP (LABEL 'pgkeeper 20260101T000000Z-F', CHECKPOINT 'fast', WAL false, WAIT false, "
            "MANIFEST 'no', TABLESPACE_MAP true, PROGRESS false, VERIFY_CHECKSUMS true)");
  EXPECT_NE(wal::BaseBackupCommand("it's", false).find("LABEL 'it''s', CHECKPOINT 'spread'"), std::string::npos);
}

TEST(BaseBackupChecksumWarning, NamesDataDirectoryPathAndBlock) {
  std::vector<wal::BaseBackupTablespace> ts = {{16385, "/srv/ts"}};
  std::string path;
  uint32_t block = 0;
  ASSERT_TRUE(physical::ParseChecksumWarning(
      "checksum verification failed in file \"./base/16384/16397\", block 1: calculated 5D2B but expected 3F1", ts,
      &path, &block));
  EXPECT_EQ(path, "base/16384/16397");
  EXPECT_EQ(block, 1u);
  ASSERT_TRUE(physical::ParseChecksumWarning(
      "checksum verification failed in file \"/srv/ts/PG_15_202209061/16384/16400.1\", block 77: calculated 1 but "
      "expected 2",
      ts, &path, &block));
  EXPECT_EQ(path, "pg_tblspc/16385/PG_15_202209061/16384/16400.1");
  EXPECT_EQ(block, 77u);
  EXPECT_FALSE(
      physical::ParseChecksumWarning("further checksum verification failures in file \"./base/1/2\" will "
                                     "not be reported",
                                     ts, &path, &block));
}

}  // namespace
}  // namespace pgk
