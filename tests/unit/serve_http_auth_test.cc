// serve's HTTP access token: where it comes from, what a request must carry, and that no
// error message repeats it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "pipeline/base64.h"
#include "serve/http_auth.h"

namespace pgk::serve {
namespace {

const std::string kToken = "s3cr3t-token-0123456789";

std::string Basic(const std::string& credentials) {
  return "Basic " + pipeline::Base64Encode(std::span<const uint8_t>(
                        reinterpret_cast<const uint8_t*>(credentials.data()), credentials.size()));
}

TEST(ServeHttpAuth, BearerOrBasicPasswordCarriesTheToken) {
  EXPECT_TRUE(Authorized("Bearer " + kToken, kToken));
  EXPECT_TRUE(Authorized("bearer  " + kToken + " ", kToken));  // scheme is case-insensitive
  EXPECT_TRUE(Authorized(Basic("prometheus:" + kToken), kToken));
  EXPECT_TRUE(Authorized(Basic(":" + kToken), kToken));  // any user name, even none
  EXPECT_TRUE(Authorized("BASIC " + Basic("u:" + kToken).substr(6), kToken));

  EXPECT_FALSE(Authorized("", kToken));
  EXPECT_FALSE(Authorized("Bearer", kToken));
  EXPECT_FALSE(Authorized("Bearer " + kToken.substr(1), kToken));
  EXPECT_FALSE(Authorized("Bearer " + kToken + "x", kToken));
  EXPECT_FALSE(Authorized("Bearertoken " + kToken, kToken));
  EXPECT_FALSE(Authorized("Token " + kToken, kToken));
  EXPECT_FALSE(Authorized(kToken, kToken));
  EXPECT_FALSE(Authorized(Basic(kToken + ":x"), kToken));  // the token as the user name
  EXPECT_FALSE(Authorized(Basic(kToken), kToken));         // no colon
  EXPECT_FALSE(Authorized("Basic !!!not-base64!!!", kToken));
}

TEST(ServeHttpAuth, OnlyTheProbesAreOpen) {
  for (const char* p : {"/live", "/health", "/ready"}) EXPECT_TRUE(IsOpenPath(p)) << p;
  for (const char* p : {"/", "/metrics", "/api/status", "/health/", "/ready?x=1", "/favicon.ico", "/LIVE"}) {
    EXPECT_FALSE(IsOpenPath(p)) << p;
  }
}

class ServeTokenSource : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("PGKEEPER_SERVE_TOKEN");
    dir_ = std::filesystem::temp_directory_path() / ("pgk-token-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    ::unsetenv("PGKEEPER_SERVE_TOKEN");
    std::filesystem::remove_all(dir_);
  }
  std::string WriteToken(const std::string& text, mode_t mode) {
    std::string path = (dir_ / "token").string();
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  static Config WithFile(const std::string& path) {
    auto c = Config::Parse("[serve]\ntoken_file = \"" + path + "\"\n", "pgkeeper.toml");
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return *c;
  }
  std::filesystem::path dir_;
};

TEST_F(ServeTokenSource, NoneConfiguredMeansOpen) {
  auto c = Config::Parse("", "pgkeeper.toml");
  ASSERT_TRUE(c.ok());
  auto t = LoadServeToken(*c);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE(t->has_value());
}

TEST_F(ServeTokenSource, FileIsTrimmedAndTheEnvironmentWins) {
  Config c = WithFile(WriteToken("  " + kToken + "\n", 0600));
  auto t = LoadServeToken(c);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->value_or(""), kToken);
  ::setenv("PGKEEPER_SERVE_TOKEN", "from-the-environment-42", 1);
  t = LoadServeToken(c);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->value_or(""), "from-the-environment-42");
}

TEST_F(ServeTokenSource, RefusesWeakOrExposedTokensWithoutRepeatingThem) {
  auto open_file = LoadServeToken(WithFile(WriteToken(kToken, 0644)));
  ASSERT_FALSE(open_file.ok());
  EXPECT_NE(open_file.status().ToString().find("chmod 600"), std::string::npos) << open_file.status().ToString();

  auto short_file = LoadServeToken(WithFile(WriteToken("short-secret", 0600)));
  ASSERT_FALSE(short_file.ok());
  EXPECT_EQ(short_file.status().code(), Code::kConfig);
  EXPECT_NE(short_file.status().message().find("shorter than 16"), std::string::npos);
  EXPECT_EQ(short_file.status().ToString().find("short-secret"), std::string::npos) << short_file.status().ToString();

  auto missing = LoadServeToken(WithFile((dir_ / "nope").string()));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().ToString().find("serve.token_file"), std::string::npos) << missing.status().ToString();

  ::setenv("PGKEEPER_SERVE_TOKEN", "has a space in it, long enough", 1);
  auto spaced = LoadServeToken(WithFile((dir_ / "nope").string()));
  ASSERT_FALSE(spaced.ok());
  EXPECT_NE(spaced.status().message().find("PGKEEPER_SERVE_TOKEN"), std::string::npos);
  EXPECT_EQ(spaced.status().ToString().find("space in it"), std::string::npos) << spaced.status().ToString();
}

}  // namespace
}  // namespace pgk::serve
