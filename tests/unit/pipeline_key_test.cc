// Keys: parsing from text, key files and their permissions, the passphrase KDF, and data
// keys wrapped by a key-encryption key.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "pipeline/base64.h"
#include "pipeline/key.h"

namespace pgk::pipeline {
namespace {

const std::string kHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

Key Sequential() {
  Key key;
  for (size_t i = 0; i < 32; ++i) key.bytes[i] = static_cast<uint8_t>(i);
  return key;
}

TEST(PipelineKey, ParsesHexAndBase64) {
  const Key expected = Sequential();
  std::string upper = kHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  std::string b64 = Base64Encode(expected.bytes);
  ASSERT_EQ(b64.size(), 44u);
  for (const std::string& text : {kHex, upper, "  " + kHex + "\n", b64, b64.substr(0, 43), b64 + "\r\n"}) {
    auto key = ParseKey(text, "test");
    ASSERT_TRUE(key.ok()) << text << ": " << key.status().ToString();
    EXPECT_TRUE(*key == expected) << text;
  }
}

TEST(PipelineKey, RejectsBadLengthsAndCharacters) {
  std::string short_b64 = Base64Encode(std::span(Sequential().bytes.data(), 31));
  for (const std::string& text : {std::string(), kHex.substr(0, 62), kHex + "00", kHex.substr(0, 63) + "g", short_b64,
                                  std::string("correct horse battery staple")}) {
    auto key = ParseKey(text, "PGKEEPER_ENCRYPTION_KEY");
    ASSERT_FALSE(key.ok()) << text;
    EXPECT_EQ(key.status().code(), Code::kInvalidArgument);
    EXPECT_NE(key.status().message().find("PGKEEPER_ENCRYPTION_KEY"), std::string::npos);
    if (!text.empty()) {
      EXPECT_EQ(key.status().ToString().find(text), std::string::npos) << "key text leaked";
    }
  }
}

class PipelineKeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("pgk_key_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    unsetenv(kKeyEnvVar);
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    unsetenv(kKeyEnvVar);
  }
  std::string Write(const std::string& name, const std::string& text, mode_t mode) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(PipelineKeyFile, ReadsAPrivateFile) {
  auto key = KeyFromFile(Write("key", kHex + "\n", 0600));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(*key == Sequential());
  key = KeyFromFile(Write("key_ro", Base64Encode(Sequential().bytes), 0400));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(*key == Sequential());
}

TEST_F(PipelineKeyFile, RefusesFilesOthersCanAccess) {
  for (mode_t mode : {0640, 0604, 0644, 0660, 0601}) {
    std::string path = Write("key" + std::to_string(mode), kHex, mode);
    auto key = KeyFromFile(path);
    ASSERT_FALSE(key.ok()) << std::oct << mode;
    EXPECT_EQ(key.status().code(), Code::kRefused);
    EXPECT_EQ(key.status().exit_code(), 2);
    EXPECT_EQ(key.status().hint(), "chmod 600 " + path);
    EXPECT_NE(key.status().message().find(path), std::string::npos);
  }
}

TEST_F(PipelineKeyFile, MissingBadAndOversizedFiles) {
  EXPECT_EQ(KeyFromFile((dir_ / "absent").string()).status().code(), Code::kNotFound);
  auto bad = KeyFromFile(Write("bad", "not a key", 0600));
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message().find("not a key"), std::string::npos);
  EXPECT_EQ(KeyFromFile(Write("big", std::string(10000, 'a'), 0600)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(KeyFromFile(dir_.string()).status().code(), Code::kInvalidArgument);  // a directory
}

TEST_F(PipelineKeyFile, EnvironmentWinsOverFile) {
  std::string path = Write("key", kHex, 0600);
  Key other = RandomKey();
  std::string other_hex;
  for (uint8_t b : other.bytes) {
    char h[3];
    std::snprintf(h, sizeof(h), "%02x", b);
    other_hex += h;
  }
  auto key = KeyFromEnvOrFile(path);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(*key == Sequential());
  setenv(kKeyEnvVar, other_hex.c_str(), 1);
  key = KeyFromEnvOrFile(path);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(*key == other);
  setenv(kKeyEnvVar, "", 1);  // empty counts as unset
  EXPECT_TRUE(*KeyFromEnvOrFile(path) == Sequential());
  unsetenv(kKeyEnvVar);
  auto none = KeyFromEnvOrFile("");
  EXPECT_EQ(none.status().code(), Code::kConfig);
  EXPECT_NE(none.status().hint().find(kKeyEnvVar), std::string::npos);
}

TEST(PipelineKdf, DeterministicPerSaltAndPassphrase) {
  std::array<uint8_t, 16> salt{};
  for (size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<uint8_t>(i);
  auto a = KeyFromPassphrase("correct horse battery staple", salt);
  auto b = KeyFromPassphrase("correct horse battery staple", salt);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(*a == *b);
  // scrypt(N=2^15, r=8, p=1, dkLen=32) from Python's hashlib.scrypt: pins the parameters.
  EXPECT_TRUE(*a == *ParseKey("7a8e34241db898d59175c696538c417467a975ffe569068425f16188d3159c58", "expected"));

  std::array<uint8_t, 16> other_salt = salt;
  other_salt[15] ^= 1;
  EXPECT_FALSE(*a == *KeyFromPassphrase("correct horse battery staple", other_salt));
  EXPECT_FALSE(*a == *KeyFromPassphrase("correct horse battery stapler", salt));
  EXPECT_NE(RandomSalt(), RandomSalt());
}

TEST(PipelineKdf, RejectsBadInput) {
  std::array<uint8_t, 16> salt{};
  EXPECT_EQ(KeyFromPassphrase("", salt).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(KeyFromPassphrase("pw", std::span(salt.data(), 8)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(KeyFromPassphrase("pw", salt, {.n = 1000}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(KeyFromPassphrase("pw", salt, {.r = 0}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(KeyFromPassphrase("pw", salt, {.n = uint64_t{1} << 24}).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(KeyFromPassphrase("pw", salt, {.n = 1024}).ok());
}

TEST(PipelineKeyWrap, UnwrapsWithTheRightKekOnly) {
  Key kek = RandomKey();
  Key data_key = RandomKey();
  EXPECT_FALSE(kek == data_key);
  std::string wrapped = WrapKey(kek, data_key);
  EXPECT_EQ(wrapped.size(), 80u);
  EXPECT_NE(wrapped, WrapKey(kek, data_key));  // random nonce
  auto back = UnwrapKey(kek, wrapped);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data_key);

  // Rekeying: the same data key under a new KEK.
  Key new_kek = RandomKey();
  auto rewrapped = UnwrapKey(new_kek, WrapKey(new_kek, *back));
  ASSERT_TRUE(rewrapped.ok());
  EXPECT_TRUE(*rewrapped == data_key);

  auto wrong = UnwrapKey(new_kek, wrapped);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), "wrong encryption key or corrupted backup");
  EXPECT_EQ(wrong.status().code(), Code::kMalformed);

  auto raw = *Base64Decode(wrapped);
  for (size_t pos : {size_t{0}, size_t{11}, size_t{12}, size_t{43}, size_t{44}, size_t{59}}) {
    auto bad = raw;
    bad[pos] ^= 1;
    EXPECT_EQ(UnwrapKey(kek, Base64Encode(bad)).status().message(), "wrong encryption key or corrupted backup") << pos;
  }
  for (const std::string& text : {std::string(), std::string("!!"), wrapped.substr(0, 76)}) {
    EXPECT_EQ(UnwrapKey(kek, text).status().message(), "wrong encryption key or corrupted backup");
  }
}

}  // namespace
}  // namespace pgk::pipeline
