#include "common/config.h"

#include <gtest/gtest.h>

namespace pgk {

TEST(Config, ReadsKnownKeys) {
  auto c = Config::Parse(R"(
[database]
url = "postgresql://h/db"
connect_timeout = 5
[check]
strict = true
)",
                         "a.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->GetString("database.url"), "postgresql://h/db");
  EXPECT_EQ(c->GetInt("database.connect_timeout"), 5);
  EXPECT_EQ(c->GetBool("check.strict"), true);
  EXPECT_FALSE(c->GetString("migrations.dir").has_value());
}

TEST(Config, UnknownKeySuggestsTheClosest) {
  auto c = Config::Parse("[database]\nurll = \"x\"\n", "a.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().exit_code(), 2);
  EXPECT_NE(c.status().message().find("database.urll"), std::string::npos);
  EXPECT_NE(c.status().message().find("a.toml:2"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().hint().find("database.url"), std::string::npos);
}

TEST(Config, UnknownSection) {
  auto c = Config::Parse("[databse]\nurl = \"x\"\n", "a.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("databse"), std::string::npos);
}

TEST(Config, WrongType) {
  auto c = Config::Parse("[database]\nconnect_timeout = \"10\"\n", "a.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("must be an integer"), std::string::npos);
}

TEST(Config, MalformedTomlNamesTheLine) {
  auto c = Config::Parse("[database]\nurl = \"unterminated\n", "bad.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kConfig);
  EXPECT_NE(c.status().message().find("bad.toml:2"), std::string::npos) << c.status().message();
}

TEST(Config, MissingOptionalFileIsEmpty) {
  auto c = Config::Load("/nonexistent/pgkeeper.toml", false);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->empty());
  auto required = Config::Load("/nonexistent/pgkeeper.toml", true);
  EXPECT_FALSE(required.ok());
  EXPECT_EQ(required.status().exit_code(), 2);
}

TEST(ClosestMatch, FindsNearWordsOnly) {
  EXPECT_EQ(ClosestMatch("chek", {"check", "demo", "local"}), "check");
  EXPECT_FALSE(ClosestMatch("backupify", {"check", "demo"}).has_value());
}

}  // namespace pgk
