#include "pg/conninfo.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace pgk::pg {

TEST(Conninfo, AcceptsBothUrlSchemesAndKeyValue) {
  EXPECT_TRUE(ValidateConninfo("postgres://u@h:5432/db").ok());
  EXPECT_TRUE(ValidateConninfo("postgresql://u@h:5432/db").ok());
  EXPECT_TRUE(ValidateConninfo("host=h port=5432 dbname=db").ok());
  EXPECT_TRUE(ValidateConninfo("").ok());
}

TEST(Conninfo, RejectsBadSyntaxAsInvalidArgument) {
  Status s = ValidateConninfo("host=h bogus");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.exit_code(), 2);
  Status u = ValidateConninfo("postgresql://u:topsecret@[::1/db");
  EXPECT_EQ(u.exit_code(), 2);
  EXPECT_EQ(u.message().find("topsecret"), std::string::npos) << u.message();
}

TEST(Conninfo, DisplayMasksPassword) {
  EXPECT_EQ(DisplayConninfo("postgresql://app:pw@db:5433/app"), "postgresql://app:***@db:5433/app");
  EXPECT_EQ(DisplayConninfo("host=db port=5433 user=app password=pw dbname=app"), "postgresql://app:***@db:5433/app");
  EXPECT_EQ(DisplayConninfo("postgresql://app@db/app"), "postgresql://app@db/app");
}

TEST(Conninfo, DisplayOfEmptyUsesEnvironment) {
  ::setenv("PGHOST", "envhost", 1);
  ::setenv("PGDATABASE", "envdb", 1);
  ::setenv("PGUSER", "envuser", 1);
  EXPECT_EQ(DisplayConninfo(""), "postgresql://envuser@envhost/envdb");
  ::unsetenv("PGHOST");
  ::unsetenv("PGDATABASE");
  ::unsetenv("PGUSER");
}

TEST(Conninfo, WithDatabaseKeepsEverythingElse) {
  auto c = WithDatabase("postgresql://app:p'w@db:5433/app?sslmode=disable", "postgres");
  ASSERT_TRUE(c.ok());
  auto parsed = ParseConninfo(*c);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)["dbname"], "postgres");
  EXPECT_EQ((*parsed)["password"], "p'w");
  EXPECT_EQ((*parsed)["host"], "db");
  EXPECT_EQ((*parsed)["port"], "5433");
  EXPECT_EQ((*parsed)["sslmode"], "disable");
}

TEST(Conninfo, BuildQuotesValues) {
  std::string c = BuildConninfo({{"dbname", "my db"}, {"password", "a'b\\c"}});
  auto parsed = ParseConninfo(c);
  ASSERT_TRUE(parsed.ok()) << c;
  EXPECT_EQ((*parsed)["dbname"], "my db");
  EXPECT_EQ((*parsed)["password"], "a'b\\c");
}

TEST(Conninfo, ResolutionOrder) {
  auto config = Config::Parse("[database]\nurl = \"postgresql://cfg/db\"\n", "test.toml");
  ASSERT_TRUE(config.ok());
  ::unsetenv("DATABASE_URL");
  auto t = ResolveTarget(std::string("postgresql://flag/db"), *config);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->source, "--db");
  ::setenv("DATABASE_URL", "postgresql://env/db", 1);
  t = ResolveTarget(std::nullopt, *config);
  EXPECT_EQ(t->source, "DATABASE_URL");
  EXPECT_EQ(t->conninfo, "postgresql://env/db");
  ::unsetenv("DATABASE_URL");
  t = ResolveTarget(std::nullopt, *config);
  EXPECT_EQ(t->source, "config file test.toml");
  t = ResolveTarget(std::nullopt, Config());
  EXPECT_EQ(t->source, "libpq environment");
  EXPECT_EQ(t->conninfo, "");
}

}  // namespace pgk::pg
