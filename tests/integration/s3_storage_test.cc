// The S3 driver against a real S3-compatible server (s3rver, started by tests/harness/s3.h,
// whose header lists what s3rver does and does not check). Without the server every test
// here FAILS (never skips), so a missing server cannot pass for a working driver.
#include "storage/s3/s3_storage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/process.h"
#include "harness/harness.h"
#include "harness/s3.h"
#include "pg/local_cluster.h"
#include "unit/storage_conformance.h"

namespace pgk::storage {
namespace {

using conformance::GetOrError;
using conformance::Ok;
using conformance::Paths;
using conformance::Pattern;
using conformance::ReadInChunks;

constexpr const char* kBucket = test::S3Server::kDefaultBucket;
constexpr size_t kMiB = 1 << 20;

test::S3Server& Server() { return test::S3(); }
void UseServerEnv() { Server().UseInProcess(); }
int FreePort() { return *pg::FindFreePort(); }
using test::FindOnPath;

std::string UniquePrefix(const std::string& name) {
  static std::atomic<int> counter{0};
  return name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Opens s3://test-bucket/<unique prefix>, failing the test when the server is missing.
std::unique_ptr<Storage> OpenTestStorage(const std::string& name, StorageOptions options = {}) {
  // Fatal failures (FAIL in a lambda): the conformance fixture skips its test body on a
  // null storage only when the failure is fatal; a plain ADD_FAILURE would let the body
  // run on nullptr.
  if (std::string err = Server().Start(); !err.empty()) {
    [&] { FAIL() << err; }();
    return nullptr;
  }
  UseServerEnv();
  auto st = OpenS3Storage(std::string("s3://") + kBucket + "/" + UniquePrefix(name), options);
  if (!st.ok()) {
    [&] { FAIL() << st.status().ToString(); }();
    return nullptr;
  }
  return std::move(st).value();
}

// Small parts so that multipart paths run with a few MiB of data.
StorageOptions SmallParts(int parallel = 3, int retries = 5) {
  return {.s3_part_size = 5 * kMiB, .s3_parallel = parallel, .s3_max_retries = retries};
}

}  // namespace

// The shared conformance suite, each test in its own prefix of the bucket.
struct S3Driver {
  std::unique_ptr<Storage> Open() { return OpenTestStorage("conformance", SmallParts()); }
};
namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(S3, StorageConformance, S3Driver);
}  // namespace conformance

namespace {

#define OPEN_OR_FAIL(var, ...)             \
  auto var = OpenTestStorage(__VA_ARGS__); \
  if (!var) return

TEST(S3StorageTest, SmallFileRoundTripAndStat) {
  OPEN_OR_FAIL(st, "small");
  EXPECT_TRUE(st->Url().starts_with("s3://test-bucket/small-"));
  ASSERT_TRUE(Ok(st->Put("a/hello.txt", "hello, s3")));
  EXPECT_EQ(GetOrError(*st, "a/hello.txt"), "hello, s3");
  auto info = st->Stat("a/hello.txt");
  ASSERT_TRUE(info.ok() && info->has_value()) << info.status().ToString();
  EXPECT_EQ((*info)->size, 9u);
  EXPECT_NEAR((*info)->mtime_s, std::time(nullptr), 300);
  auto missing = st->Stat("a/missing");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  EXPECT_TRUE(Ok(st->Remove("a/hello.txt")));
  EXPECT_TRUE(Ok(st->Remove("a/hello.txt")));
  EXPECT_EQ(Paths(*st, ""), std::vector<std::string>{});
  EXPECT_EQ(st->OpenRead("a/hello.txt").status().code(), Code::kNotFound);
}

TEST(S3StorageTest, MultipartUploadIsInvisibleUntilCloseAndRoundTrips) {
  OPEN_OR_FAIL(st, "multipart", SmallParts());
  const std::string data = Pattern(23 * kMiB + 17, 42);
  auto w = st->OpenWrite("big.bin");
  ASSERT_TRUE(w.ok());
  for (size_t off = 0; off < data.size(); off += 777777) {
    ASSERT_TRUE(Ok((*w)->Write(std::string_view(data).substr(off, 777777))));
    if (off > 12 * kMiB && off < 13 * kMiB) {
      // Parts are on the server by now, yet no object exists.
      auto info = st->Stat("big.bin");
      ASSERT_TRUE(info.ok());
      EXPECT_FALSE(info->has_value());
      EXPECT_TRUE(std::filesystem::exists(Server().dir() + "/test-bucket/._S3rver_uploads"));
    }
  }
  ASSERT_TRUE(Ok((*w)->Close()));
  EXPECT_EQ((*w)->bytes_written(), data.size());
  auto info = st->Stat("big.bin");
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->size, data.size());
  EXPECT_TRUE(ReadInChunks(*st, "big.bin", 1 << 16) == data);
}

TEST(S3StorageTest, ReadsLargeObjectsInBoundedRanges) {
  OPEN_OR_FAIL(st, "ranged", SmallParts());
  const std::string data = Pattern(20 * kMiB + 5, 7);
  ASSERT_TRUE(Ok(st->Put("r.bin", data)));
  auto reader = st->OpenRead("r.bin");
  ASSERT_TRUE(reader.ok());
  std::string got;
  std::string buf(data.size() + 1, '\0');
  int reads = 0;
  for (;;) {
    auto n = (*reader)->Read(buf.data(), buf.size());
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    EXPECT_LE(*n, 8 * kMiB);  // one ranged GET at a time, whatever the caller asks for
    got.append(buf.data(), *n);
    ++reads;
  }
  EXPECT_EQ(reads, 3);
  EXPECT_TRUE(got == data);
  // Odd-sized reads straddle the range boundaries.
  EXPECT_TRUE(ReadInChunks(*st, "r.bin", 3 * kMiB + 1) == data);
}

TEST(S3StorageTest, ListPaginatesAndRemovePrefixBatches) {
  OPEN_OR_FAIL(st, "many");
  constexpr int kFiles = 1100;  // > 1000: two ListObjectsV2 pages, two DeleteObjects batches
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kFiles; i += 8) {
        char name[32];
        std::snprintf(name, sizeof name, "wal/%06d", i);
        if (!st->Put(name, std::to_string(i)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_TRUE(Ok(st->Put("other/keep", "k")));
  auto listed = st->List("wal/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), static_cast<size_t>(kFiles));
  EXPECT_EQ((*listed)[0].path, "wal/000000");
  EXPECT_EQ((*listed)[1099].path, "wal/001099");
  EXPECT_EQ((*listed)[1099].size, 4u);
  EXPECT_TRUE(Ok(st->RemovePrefix("wal/")));
  EXPECT_EQ(Paths(*st, ""), std::vector<std::string>{"other/keep"});
}

TEST(S3StorageTest, AbortAndDestructorLeaveNoObject) {
  OPEN_OR_FAIL(st, "abort", SmallParts());
  {
    auto w = st->OpenWrite("aborted.bin");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(Ok((*w)->Write(Pattern(11 * kMiB, 1))));  // two parts sent
    (*w)->Abort();
    EXPECT_FALSE((*w)->Close().ok());  // unusable after Abort
  }
  {
    auto w = st->OpenWrite("dropped.bin");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(Ok((*w)->Write(Pattern(6 * kMiB, 2))));
  }
  EXPECT_EQ(Paths(*st, ""), std::vector<std::string>{});
}

TEST(S3StorageTest, CredentialsFromSharedCredentialsFile) {
  ASSERT_EQ(Server().Start(), "");
  UseServerEnv();
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  std::string file = test::TempPath("aws-credentials");
  std::ofstream(file) << "[default]\naws_access_key_id = NOPE\naws_secret_access_key = NOPE\n"
                         "[backup]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n";
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", file.c_str(), 1);
  ::setenv("AWS_PROFILE", "backup", 1);
  auto st = OpenS3Storage(std::string("s3://") + kBucket + "/" + UniquePrefix("profile"), {});
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_TRUE(Ok((*st)->Put("x", "from profile")));
  UseServerEnv();
}

TEST(S3StorageTest, WrongAccessKeyIsAccessDeniedWithoutLeakingTheSecret) {
  ASSERT_EQ(Server().Start(), "");
  UseServerEnv();
  ::setenv("AWS_ACCESS_KEY_ID", "AKIDWRONGKEY", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value-42", 1);
  auto st = OpenS3Storage(std::string("s3://") + kBucket + "/denied", {});
  UseServerEnv();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  Status s = (*st)->Put("f", "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kRefused);
  EXPECT_NE(s.message().find("access denied to s3://test-bucket/denied/f"), std::string::npos) << s.ToString();
  EXPECT_NE(s.hint().find("AWS_ACCESS_KEY_ID"), std::string::npos) << s.ToString();
  EXPECT_EQ(s.ToString().find("very-secret-value-42"), std::string::npos);
  auto listed = (*st)->List("");
  EXPECT_EQ(listed.status().code(), Code::kRefused);
}

TEST(S3StorageTest, MissingBucketIsNotFoundWithHint) {
  ASSERT_EQ(Server().Start(), "");
  UseServerEnv();
  auto st = OpenS3Storage("s3://no-such-bucket/x", {});
  ASSERT_TRUE(st.ok());
  auto listed = (*st)->List("");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.status().code(), Code::kNotFound);
  EXPECT_NE(listed.status().message().find("bucket 'no-such-bucket' does not exist"), std::string::npos)
      << listed.status().ToString();
  EXPECT_NE(listed.status().hint().find("create the bucket"), std::string::npos);
}

TEST(S3StorageTest, UnreachableEndpointIsAnIOErrorAfterRetries) {
  UseServerEnv();
  std::string endpoint = "http://127.0.0.1:" + std::to_string(FreePort());
  ::setenv("PGKEEPER_S3_ENDPOINT", endpoint.c_str(), 1);
  auto st = OpenS3Storage("s3://test-bucket/x", {.s3_max_retries = 2});
  UseServerEnv();
  ASSERT_TRUE(st.ok());
  auto start = std::chrono::steady_clock::now();
  Status s = (*st)->Put("f", "x");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kIO);
  EXPECT_EQ(s.exit_code(), 3);
  EXPECT_TRUE(s.message().starts_with("cannot reach " + endpoint + ": ")) << s.ToString();
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));  // two backoffs: 100..200 + 200..400 ms
  // The endpoint is known to be unreachable: cleanup requests that follow a failure try
  // once instead of backing off again.
  start = std::chrono::steady_clock::now();
  EXPECT_EQ((*st)->Remove("f").code(), Code::kIO);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
}

TEST(S3StorageTest, PlainHttpToANonLoopbackHostIsRefused) {
  UseServerEnv();
  ::setenv("PGKEEPER_S3_ENDPOINT", "http://s3.example.com:9000", 1);
  auto st = OpenS3Storage("s3://test-bucket/x", {});
  UseServerEnv();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), Code::kInvalidArgument);
  EXPECT_NE(st.status().ToString().find("unencrypted"), std::string::npos) << st.status().ToString();
}

TEST(S3StorageTest, BadOptionsAreRefused) {
  UseServerEnv();
  EXPECT_EQ(OpenS3Storage("s3://b", {.s3_part_size = 1 * kMiB}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(OpenS3Storage("s3://b", {.s3_parallel = 0}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(OpenS3Storage("s3://", {}).status().code(), Code::kInvalidArgument);
}

TEST(S3StorageTest, HttpsIsVerifiedAgainstAwsCaBundle) {
  // A self-signed certificate for 127.0.0.1: refused by default, accepted once
  // AWS_CA_BUNDLE names it.
  std::string openssl = FindOnPath("openssl");
  ASSERT_FALSE(openssl.empty()) << "the openssl command is needed to make a test certificate";
  std::string key = test::TempPath("tls.key"), cert = test::TempPath("tls.crt");
  auto made =
      RunProcess({.argv = {openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                           "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                  .capture = true});
  ASSERT_TRUE(made.ok() && made->exit_code == 0) << (made.ok() ? made->output : made.status().ToString());
  test::S3Server tls_server("s3rver-tls", {key, cert});
  ASSERT_EQ(tls_server.Start(), "");
  UseServerEnv();
  ::setenv("PGKEEPER_S3_ENDPOINT", tls_server.Endpoint().c_str(), 1);
  auto untrusted = OpenS3Storage("s3://test-bucket/tls", {.s3_max_retries = 0});
  ::setenv("AWS_CA_BUNDLE", cert.c_str(), 1);
  auto trusted = OpenS3Storage("s3://test-bucket/tls", {});
  UseServerEnv();
  ASSERT_TRUE(untrusted.ok() && trusted.ok());
  Status s = (*untrusted)->Put("f", "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kIO);
  EXPECT_NE(s.hint().find("AWS_CA_BUNDLE"), std::string::npos) << s.ToString();
  ASSERT_TRUE(Ok((*trusted)->Put("f", "over tls")));
  EXPECT_EQ(GetOrError(**trusted, "f"), "over tls");
}

// Runs last among the S3StorageTest tests: it takes the server away and brings it back.
TEST(S3StorageTest, ServerGoingAwayMidUploadFailsCloseAndLeavesNothing) {
  OPEN_OR_FAIL(st, "killed", SmallParts(2, 2));
  const std::string data = Pattern(16 * kMiB, 9);
  auto w = st->OpenWrite("partial.bin");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(Ok((*w)->Write(std::string_view(data).substr(0, 6 * kMiB))));  // one part on its way
  Server().Kill();
  Status s = (*w)->Write(std::string_view(data).substr(6 * kMiB));
  if (s.ok()) s = (*w)->Close();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kIO) << s.ToString();
  EXPECT_EQ(s.exit_code(), 3);
  EXPECT_NE(s.message().find("cannot reach " + Server().Endpoint()), std::string::npos) << s.ToString();

  ASSERT_EQ(Server().Start(), "");
  auto info = st->Stat("partial.bin");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_FALSE(info->has_value());
  EXPECT_EQ(Paths(*st, ""), std::vector<std::string>{});
}

}  // namespace
}  // namespace pgk::storage
