// Sorting pg_dumpall --globals-only output for restore, and the password guard.
#include "restore/globals_script.h"

#include <gtest/gtest.h>

namespace pgk::restore {

namespace {

// What pg_dumpall 15 writes (meta-commands already stripped), with awkward names.
constexpr char kScript[] = R"(--
-- PostgreSQL database cluster dump
--

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

CREATE ROLE "We;ird ""Na:me";
ALTER ROLE "We;ird ""Na:me" WITH NOSUPERUSER INHERIT NOCREATEROLE CREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 3;
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;
CREATE ROLE r1;
COMMENT ON ROLE r1 IS 'multi
line; with PASSWORD inside';
ALTER ROLE r1 SET search_path TO 'a;b', 'public';
ALTER ROLE r1 SET default_tablespace TO 'ts1';
GRANT r1 TO "We;ird ""Na:me" WITH ADMIN OPTION GRANTED BY postgres;

CREATE TABLESPACE "TS one" OWNER r1 LOCATION '/tmp/ts';
GRANT ALL ON TABLESPACE "TS one" TO "We;ird ""Na:me";
)";

using Kind = GlobalsStatement::Kind;

}  // namespace

TEST(GlobalsScript, ClassifiesStatements) {
  auto parsed = ParseGlobalsScript(kScript, "globals.sql");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const auto& s = *parsed;
  ASSERT_EQ(s.size(), 14u);
  EXPECT_EQ(s[0].kind, Kind::kRole);  // SET
  EXPECT_EQ(s[3].kind, Kind::kCreateRole);
  EXPECT_EQ(s[3].name, "We;ird \"Na:me");
  EXPECT_EQ(s[3].line, 10);
  EXPECT_EQ(s[5].name, "postgres");
  EXPECT_EQ(s[7].name, "r1");
  EXPECT_EQ(s[8].kind, Kind::kRole);  // the comment with a newline and a ';' inside
  EXPECT_EQ(s[8].line, 15);
  EXPECT_EQ(s[10].kind, Kind::kRole);  // default_tablespace is a setting, not the tablespace part
  EXPECT_EQ(s[12].kind, Kind::kCreateTablespace);
  EXPECT_EQ(s[12].name, "TS one");
  EXPECT_EQ(s[13].kind, Kind::kTablespace);
}

TEST(GlobalsScript, RefusesPasswords) {
  auto r = ParseGlobalsScript("CREATE ROLE a;\nALTER ROLE a WITH LOGIN PASSWORD 'SCRAM-SHA-256$x';\n", "g.sql");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kMalformed);
  EXPECT_NE(r.status().message().find("g.sql line 2"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("SCRAM"), std::string::npos);
  EXPECT_FALSE(ParseGlobalsScript("ALTER ROLE a PASSWORD NULL;", "g.sql").ok());
}

TEST(GlobalsScript, RefusesUnexpectedCreateRole) {
  auto r = ParseGlobalsScript("CREATE ROLE a LOGIN;\n", "g.sql");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 1"), std::string::npos);
}

}  // namespace pgk::restore
