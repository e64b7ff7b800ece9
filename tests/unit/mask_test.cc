#include "common/mask.h"

#include <gtest/gtest.h>

namespace pgk {

TEST(MaskSecrets, MasksUrlPassword) {
  EXPECT_EQ(MaskSecrets("postgresql://app:s3cr%40t@db.internal:5432/app"), "postgresql://app:***@db.internal:5432/app");
  EXPECT_EQ(MaskSecrets("postgres://u:p@h/db and more"), "postgres://u:***@h/db and more");
}

TEST(MaskSecrets, LeavesUrlsWithoutPasswordAlone) {
  EXPECT_EQ(MaskSecrets("postgresql://app@db:5432/app"), "postgresql://app@db:5432/app");
  EXPECT_EQ(MaskSecrets("postgresql://db:5432/app"), "postgresql://db:5432/app");
}

TEST(MaskSecrets, MasksConninfoPasswords) {
  EXPECT_EQ(MaskSecrets("host=h password=hunter2 dbname=x"), "host=h password=*** dbname=x");
  EXPECT_EQ(MaskSecrets("host=h password='with space' dbname=x"), "host=h password=*** dbname=x");
  EXPECT_EQ(MaskSecrets("postgresql://h/db?password=abc&sslmode=require"), "postgresql://h/db?password=***&sslmode=require");
}

TEST(MaskSecrets, MasksSqlAndEnvironment) {
  EXPECT_EQ(MaskSecrets("ALTER ROLE app PASSWORD 'it''s secret'"), "ALTER ROLE app PASSWORD '***'");
  EXPECT_EQ(MaskSecrets("PGPASSWORD=abc pg_dump"), "PGPASSWORD=*** pg_dump");
  EXPECT_EQ(MaskSecrets("AWS_SECRET_ACCESS_KEY=xyz"), "AWS_SECRET_ACCESS_KEY=***");
}

TEST(MaskSecrets, PlainTextUnchanged) {
  EXPECT_EQ(MaskSecrets("nothing to see here"), "nothing to see here");
  EXPECT_EQ(MaskSecrets(""), "");
}

}  // namespace pgk
