// `roles reset-passwords` input: the environment mapping and the password file format.
// Error messages must name where a password came from, never the password.
#include <gtest/gtest.h>

#include "roles/passwords.h"

namespace pgk::roles {

TEST(RolePasswords, EnvironmentMapsSuffixToLowerCaseRole) {
  auto r = PasswordsFromEnvironment("PGK_PW_", {"PATH=/bin", "PGK_PW_APP=s3cret:with=signs", "PGK_PW_Report_User=x y",
                                                "PGK_PW_=ignored", "OTHER_PGK_PW_X=no"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].role, "app");
  EXPECT_EQ((*r)[0].password, "s3cret:with=signs");
  EXPECT_EQ((*r)[0].origin, "environment variable PGK_PW_APP");
  EXPECT_EQ((*r)[1].role, "report_user");
  EXPECT_EQ((*r)[1].password, "x y");
}

TEST(RolePasswords, EnvironmentErrors) {
  EXPECT_EQ(PasswordsFromEnvironment("", {"A=b"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(PasswordsFromEnvironment("PGK_PW_", {"A=b"}).status().code(), Code::kInvalidArgument);
  auto empty = PasswordsFromEnvironment("PGK_PW_", {"PGK_PW_APP="});
  EXPECT_EQ(empty.status().code(), Code::kMalformed);
  auto twice = PasswordsFromEnvironment("PGK_PW_", {"PGK_PW_APP=one-secret", "PGK_PW_app=two-secret"});
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("PGK_PW_APP"), std::string::npos);
  EXPECT_EQ(twice.status().message().find("secret"), std::string::npos) << twice.status().message();
}

TEST(RolePasswords, FileFormat) {
  auto r = ParsePasswordFile(
      "# passwords for the restored roles\n"
      "\n"
      "app:correct horse: battery \n"
      "  spaced  :pw\r\n"
      "\"Weird: \"\"Name\"\"\" :q\n"
      "\"#hash\":h\n",
      "pw.txt");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].role, "app");
  EXPECT_EQ((*r)[0].password, "correct horse: battery ");
  EXPECT_EQ((*r)[0].origin, "pw.txt line 3");
  EXPECT_EQ((*r)[1].role, "spaced");
  EXPECT_EQ((*r)[1].password, "pw");
  EXPECT_EQ((*r)[2].role, "Weird: \"Name\"");
  EXPECT_EQ((*r)[2].password, "q");
  EXPECT_EQ((*r)[3].role, "#hash");
}

TEST(RolePasswords, FileErrorsNameTheLineNotThePassword) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"app:ok\nnocolon-topsecret\n", "line 2 has no ':'"},
      {":topsecret\n", "line 1 has an empty role name"},
      {"app:\n", "line 1 gives role app an empty password"},
      {"\"open:topsecret\n", "line 1: the quoted role name is not closed"},
      {"\"x\" topsecret\n", "line 1: expected ':'"},
      {"app:topsecret1\nb:x\napp:topsecret2\n", "pw.txt line 1 and pw.txt line 3"},
      {"# only a comment\n", "sets no password"},
  };
  for (const auto& c : cases) {
    auto r = ParsePasswordFile(c.text, "pw.txt");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Code::kMalformed);
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().ToString().find("topsecret"), std::string::npos) << r.status().ToString();
  }
  std::string long_name(64, 'r');
  EXPECT_FALSE(ParsePasswordFile(long_name + ":x\n", "pw.txt").ok());
}

}  // namespace pgk::roles
