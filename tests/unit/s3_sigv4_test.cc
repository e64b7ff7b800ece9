// The S3 driver's pure parts: the SigV4 signer against AWS's published vectors (the
// Signature Version 4 test suite and the S3 API reference examples), the XML scanner,
// and configuration from the environment.
#include <gtest/gtest.h>

#include <map>

#include "common/hash.h"
#include "common/markup.h"
#include "storage/s3/s3_config.h"
#include "storage/s3/sigv4.h"
#include "storage/s3/xml.h"

namespace pgk::storage::s3 {
namespace {

constexpr char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// The SigV4 test suite's credentials and time (aws-sig-v4-test-suite).
const Credentials kSuiteCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr char kSuiteDate[] = "20150830T123600Z";
// The S3 API reference's examples ("Signature Calculations for the Authorization Header").
const Credentials kS3Creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr char kS3Date[] = "20130524T000000Z";

std::string StsHash(const Signature& s) { return s.string_to_sign.substr(s.string_to_sign.rfind('\n') + 1); }

TEST(S3SigV4Test, SuiteGetVanilla) {
  SignInput in{"GET", "/", {}, {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}}, kEmptySha};
  Signature s = SignV4(in, kSuiteCreds, "us-east-1", "service", kSuiteDate);
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
                std::string(kEmptySha));
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(S3SigV4Test, SuiteGetVanillaQueryOrderKeyCase) {
  // Given in the suite's request order; the signer must sort.
  SignInput in{"GET",
               "/",
               {{"Param2", "value2"}, {"Param1", "value1"}},
               {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}},
               kEmptySha};
  Signature s = SignV4(in, kSuiteCreds, "us-east-1", "service", kSuiteDate);
  EXPECT_EQ(s.canonical_request,
            "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n" +
                std::string(kEmptySha));
  EXPECT_EQ(StsHash(s), "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
  EXPECT_EQ(s.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(S3SigV4Test, SuitePostXWwwFormUrlencoded) {
  std::string body = "Param1=value1";
  SignInput in{"POST",
               "/",
               {},
               {{"Content-Type", "application/x-www-form-urlencoded"},
                {"Host", "example.amazonaws.com"},
                {"X-Amz-Date", kSuiteDate}},
               ""};
  // The payload hash is the SHA-256 of the body, computed as the client does.
  in.payload_hash = Sha256Hex(body);
  Signature s = SignV4(in, kSuiteCreds, "us-east-1", "service", kSuiteDate);
  EXPECT_EQ(s.canonical_request,
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_EQ(StsHash(s), "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(S3SigV4Test, SuiteGetHeaderValueTrim) {
  SignInput in{"GET",
               "/",
               {},
               {{"Host", "example.amazonaws.com"},
                {"My-Header1", " value1"},
                {"My-Header2", "\"a   b   c\""},
                {"X-Amz-Date", kSuiteDate}},
               kEmptySha};
  Signature s = SignV4(in, kSuiteCreds, "us-east-1", "service", kSuiteDate);
  EXPECT_NE(s.canonical_request.find("my-header1:value1\nmy-header2:\"a b c\"\n"), std::string::npos);
  EXPECT_EQ(s.signature, "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

TEST(S3SigV4Test, S3ExampleGetObject) {
  SignInput in{"GET",
               "/test.txt",
               {},
               {{"Host", "examplebucket.s3.amazonaws.com"},
                {"Range", "bytes=0-9"},
                {"x-amz-content-sha256", kEmptySha},
                {"x-amz-date", kS3Date}},
               kEmptySha};
  Signature s = SignV4(in, kS3Creds, "us-east-1", "s3", kS3Date);
  EXPECT_EQ(s.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:" +
                std::string(kEmptySha) +
                "\nx-amz-date:20130524T000000Z\n\n"
                "host;range;x-amz-content-sha256;x-amz-date\n" +
                std::string(kEmptySha));
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(S3SigV4Test, S3ExamplePutObjectSignsThePayloadHash) {
  // "Example: PUT Object": the key test$file.text is URI-encoded once; the body's
  // SHA-256 (not UNSIGNED-PAYLOAD) goes into the signature.
  std::string payload = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";  // "Welcome to Amazon S3."
  SignInput in{"PUT",
               "/" + UriEncode("test$file.text", true),
               {},
               {{"Host", "examplebucket.s3.amazonaws.com"},
                {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                {"x-amz-date", kS3Date},
                {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                {"x-amz-content-sha256", payload}},
               payload};
  EXPECT_EQ(in.canonical_uri, "/test%24file.text");
  Signature s = SignV4(in, kS3Creds, "us-east-1", "s3", kS3Date);
  EXPECT_EQ(s.signed_headers, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
  EXPECT_EQ(StsHash(s), "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(S3SigV4Test, S3ExampleGetBucketLifecycleAndList) {
  HeaderList headers{
      {"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-content-sha256", kEmptySha}, {"x-amz-date", kS3Date}};
  // A sub-resource without a value signs as "lifecycle=".
  Signature lifecycle =
      SignV4({"GET", "/", {{"lifecycle", ""}}, headers, kEmptySha}, kS3Creds, "us-east-1", "s3", kS3Date);
  EXPECT_EQ(lifecycle.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  Signature list = SignV4({"GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, headers, kEmptySha}, kS3Creds, "us-east-1",
                          "s3", kS3Date);
  EXPECT_EQ(list.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(S3SigV4Test, UriEncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(UriEncode("a b/c", false), "a%20b%2Fc");
  EXPECT_EQ(UriEncode("-._~AZaz09", false), "-._~AZaz09");
  EXPECT_EQ(UriEncode("+=&?%*", true), "%2B%3D%26%3F%25%2A");
  EXPECT_EQ(UriEncode("\xE1\x88\xB4", true), "%E1%88%B4");
  EXPECT_EQ(CanonicalQuery({{"b", "x y"}, {"a", ""}, {"a/b", "1"}}), "a=&a%2Fb=1&b=x%20y");
}

TEST(S3SigV4Test, DigestHelpers) {
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Md5Base64(""), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(AmzDate(1440938160), "20150830T123600Z");
}

TEST(S3XmlTest, UnescapesEntities) {
  EXPECT_EQ(XmlUnescape("a&amp;b&lt;c&gt;d&quot;e&apos;f"), "a&b<c>d\"e'f");
  EXPECT_EQ(XmlUnescape("&#65;&#x42;&#xE9;"), "AB\xC3\xA9");
  EXPECT_EQ(XmlUnescape("a & b &bogus; c"), "a & b &bogus; c");
  EXPECT_EQ(EscapeMarkup("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
  EXPECT_EQ(XmlUnescape(EscapeMarkup("k<&>'\"")), "k<&>'\"");
}

TEST(S3XmlTest, FindsElements) {
  std::string xml =
      R"(<?xml version="1.0"?><R xmlns="x"><Code>NoSuchKey</Code><Key a="1">k&amp;1</Key><Empty/><Key>k2</Key><KeyCount>2</KeyCount></R>)";
  EXPECT_EQ(XmlText(xml, "Code").value_or(""), "NoSuchKey");
  auto keys = XmlElements(xml, "Key");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0], "k&amp;1");
  EXPECT_EQ(XmlText(xml, "Empty").value_or("x"), "");
  EXPECT_FALSE(XmlText(xml, "Missing").has_value());
  EXPECT_EQ(XmlText(xml, "KeyCount").value_or(""), "2");
}

TEST(S3XmlTest, ParsesListObjectsV2) {
  std::string xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>p/a&amp;b.txt</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p/&lt;c&gt;</Key><LastModified>1970-01-01T00:00:01Z</LastModified><Size>0</Size></Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)";
  auto page = ParseListObjectsV2(xml);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a&b.txt");
  EXPECT_EQ(page->objects[0].size, 434234u);
  EXPECT_EQ(page->objects[0].mtime_s, 1255369830);
  EXPECT_EQ(page->objects[1].key, "p/<c>");
  EXPECT_EQ(page->objects[1].mtime_s, 1);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");

  auto last = ParseListObjectsV2("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last->objects.empty());
  EXPECT_FALSE(last->truncated);
  EXPECT_FALSE(ParseListObjectsV2("<Error><Code>AccessDenied</Code></Error>").has_value());
  EXPECT_FALSE(ParseIso8601("2009-13-12T17:50:30Z").has_value());
}

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(S3ConfigTest, AwsDefaultsToVirtualHostedHttps) {
  auto cfg = LoadS3Config(
      "s3://bkt/some/prefix/",
      FakeEnv({{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}, {"AWS_DEFAULT_REGION", "eu-west-3"}}));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->bucket, "bkt");
  EXPECT_EQ(cfg->prefix, "some/prefix/");
  EXPECT_EQ(cfg->region, "eu-west-3");
  EXPECT_EQ(cfg->Endpoint(), "https://s3.eu-west-3.amazonaws.com");
  EXPECT_FALSE(cfg->path_style);
  EXPECT_EQ(cfg->Authority(), "bkt.s3.eu-west-3.amazonaws.com");
  EXPECT_EQ(cfg->Url(), "s3://bkt/some/prefix");
}

TEST(S3ConfigTest, CustomEndpointIsPathStyleUnlessOverridden) {
  std::map<std::string, std::string> env{{"AWS_ACCESS_KEY_ID", "AK"},
                                         {"AWS_SECRET_ACCESS_KEY", "SK"},
                                         {"AWS_ENDPOINT_URL", "https://other:1"},
                                         {"PGKEEPER_S3_ENDPOINT", "http://127.0.0.1:9000/"}};
  auto cfg = LoadS3Config("s3://bkt", FakeEnv(env));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->prefix, "");
  EXPECT_EQ(cfg->region, "us-east-1");
  EXPECT_TRUE(cfg->path_style);
  EXPECT_EQ(cfg->Authority(), "127.0.0.1:9000");
  env["PGKEEPER_S3_URI_STYLE"] = "host";
  EXPECT_FALSE(LoadS3Config("s3://bkt", FakeEnv(env))->path_style);
  env["PGKEEPER_S3_URI_STYLE"] = "sideways";
  EXPECT_EQ(LoadS3Config("s3://bkt", FakeEnv(env)).status().code(), Code::kInvalidArgument);
}

TEST(S3ConfigTest, RefusesHttpToNonLoopbackHosts) {
  auto cfg = LoadS3Config("s3://bkt", FakeEnv({{"AWS_ACCESS_KEY_ID", "AK"},
                                               {"AWS_SECRET_ACCESS_KEY", "SK"},
                                               {"PGKEEPER_S3_ENDPOINT", "http://minio.example.com:9000"}}));
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), Code::kInvalidArgument);
  EXPECT_NE(cfg.status().ToString().find("unencrypted"), std::string::npos);
  for (const char* ok : {"http://localhost:1", "http://127.0.0.1", "http://[::1]:9000", "https://minio.example.com"}) {
    EXPECT_TRUE(LoadS3Config("s3://bkt", FakeEnv({{"AWS_ACCESS_KEY_ID", "AK"},
                                                  {"AWS_SECRET_ACCESS_KEY", "SK"},
                                                  {"PGKEEPER_S3_ENDPOINT", ok}}))
                    .ok())
        << ok;
  }
  EXPECT_FALSE(LoadS3Config("s3:///x", FakeEnv({})).ok());
  EXPECT_FALSE(LoadS3Config("file:///x", FakeEnv({})).ok());
}

TEST(S3ConfigTest, CredentialsFileProfiles) {
  std::string ini =
      "# comment\n[default]\naws_access_key_id = AKDEF\naws_secret_access_key=SKDEF\n\n"
      "[profile backup]\n aws_access_key_id=AKB \n; comment\naws_secret_access_key = SKB\naws_session_token = TOK\n"
      "[partial]\naws_access_key_id=X\n";
  auto def = ParseCredentialsFile(ini, "default");
  ASSERT_TRUE(def.has_value());
  EXPECT_EQ(def->access_key_id, "AKDEF");
  EXPECT_EQ(def->secret_access_key, "SKDEF");
  auto backup = ParseCredentialsFile(ini, "backup");
  ASSERT_TRUE(backup.has_value());
  EXPECT_EQ(backup->secret_access_key, "SKB");
  EXPECT_EQ(backup->session_token, "TOK");
  EXPECT_FALSE(ParseCredentialsFile(ini, "partial").has_value());
  EXPECT_FALSE(ParseCredentialsFile(ini, "missing").has_value());
}

TEST(S3ConfigTest, MissingCredentialsIsAConfigErrorWithAHint) {
  auto cfg = LoadS3Config("s3://bkt", FakeEnv({{"HOME", "/nonexistent"}, {"AWS_PROFILE", "prod"}}));
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), Code::kConfig);
  EXPECT_NE(cfg.status().hint().find("[prod]"), std::string::npos);
}

}  // namespace
}  // namespace pgk::storage::s3
