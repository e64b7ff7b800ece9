// serve's HTTPS identity: which certificate/key files load, and that every refusal says
// what is wrong with which file (never the key's content).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness/test_cert.h"
#include "serve/tls.h"

namespace pgk::serve {
namespace {

class ServeTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("pgk-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  TlsFiles Write(const std::string& cert, const std::string& key, mode_t key_mode = 0600) {
    TlsFiles f{(dir_ / "cert.pem").string(), (dir_ / "key.pem").string()};
    std::ofstream(f.cert_file, std::ios::trunc) << cert;
    std::ofstream(f.key_file, std::ios::trunc) << key;
    ::chmod(f.key_file.c_str(), key_mode);
    return f;
  }
  std::filesystem::path dir_;
};

TEST_F(ServeTlsTest, LoadsACertificateWithItsChainAndDescribesIt) {
  auto leaf = test::MakeTestCert("db-host.example");
  auto ca = test::MakeTestCert("intermediate");
  auto id = TlsIdentity::Load(Write(leaf.cert_pem + ca.cert_pem, leaf.key_pem));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ((*id)->description().rfind("CN=db-host.example, expires 20", 0), 0u) << (*id)->description();
}

TEST_F(ServeTlsTest, RefusesWhatCannotServe) {
  auto a = test::MakeTestCert("a"), b = test::MakeTestCert("b");
  auto mismatch = TlsIdentity::Load(Write(a.cert_pem, b.key_pem));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().code(), Code::kConfig);
  EXPECT_NE(mismatch.status().message().find("is not the private key of the certificate"), std::string::npos);

  auto exposed = TlsIdentity::Load(Write(a.cert_pem, a.key_pem, 0644));
  ASSERT_FALSE(exposed.ok());
  EXPECT_NE(exposed.status().ToString().find("chmod 600"), std::string::npos) << exposed.status().ToString();

  auto garbage = TlsIdentity::Load(Write("not a certificate\n", a.key_pem));
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("no PEM certificate"), std::string::npos);

  auto locked = test::MakeTestCert("c", -60, 86400, "passphrase");
  auto encrypted = TlsIdentity::Load(Write(locked.cert_pem, locked.key_pem));
  ASSERT_FALSE(encrypted.ok());
  EXPECT_NE(encrypted.status().message().find("encrypted key"), std::string::npos) << encrypted.status().ToString();
  EXPECT_EQ(encrypted.status().ToString().find("PRIVATE KEY"), std::string::npos);

  auto old = test::MakeTestCert("old", -7200, -3600);
  auto expired = TlsIdentity::Load(Write(old.cert_pem, old.key_pem));
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.status().message().find("expired at"), std::string::npos);

  auto missing = TlsIdentity::Load({(dir_ / "none.pem").string(), (dir_ / "key.pem").string()});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().ToString().find("serve.tls_cert_file"), std::string::npos) << missing.status().ToString();
}

TEST(ServeTlsConfig, BothFilesOrNeither) {
  auto none = Config::Parse("[serve]\n", "pgkeeper.toml");
  ASSERT_TRUE(none.ok());
  auto off = TlsFilesFromConfig(*none);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->has_value());
  auto half = Config::Parse("[serve]\ntls_cert_file = \"/etc/c.pem\"\n", "pgkeeper.toml");
  ASSERT_TRUE(half.ok());
  auto refused = TlsFilesFromConfig(*half);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kConfig);
  EXPECT_NE(refused.status().message().find("serve.tls_key_file is not"), std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace pgk::serve
