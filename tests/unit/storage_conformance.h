// The storage conformance suite: what every Storage driver must do alike, written once
// and run against each driver. A driver's test instantiates it with a Driver type:
//
//   struct PosixDriver {
//     // Default-constructed for each test; owns what the storage needs (a temp dir, a
//     // bucket prefix to clean up) and outlives the storage it opens.
//     std::unique_ptr<storage::Storage> Open();  // a new, empty storage; nullptr skips
//   };
//   namespace pgk::storage::conformance {
//   INSTANTIATE_TYPED_TEST_SUITE_P(Posix, StorageConformance, PosixDriver);
//   }
//
// Typed tests rather than TEST_P with a factory because gtest lets a typed suite be
// defined in a header that several test files of one binary include (TEST_P would define
// the same tests twice); a Driver type is the factory. Nothing here knows a driver, so the
// S3 integration test can instantiate the same suite (returning nullptr from Open() when
// no endpoint is configured).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "storage/storage.h"

namespace pgk::storage::conformance {

// Every byte value, in an order that differs per seed, so that a misplaced chunk shows.
inline std::string Pattern(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    out[i] = static_cast<char>(x >> 56);
  }
  return out;
}

inline ::testing::AssertionResult Ok(const Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << s.ToString();
}

inline ::testing::AssertionResult Put(Storage& st, const std::string& path, std::string_view data,
                                      const WriteOptions& options = {}) {
  return Ok(st.Put(path, data, options));
}

// The file's contents, or "<error: ...>" so that a comparison failure shows the error.
inline std::string GetOrError(Storage& st, const std::string& path) {
  auto r = st.Get(path);
  return r.ok() ? r.value() : "<error: " + r.status().ToString() + ">";
}

// Reads with a reader in `chunk`-sized calls, as a restore does.
inline std::string ReadInChunks(Storage& st, const std::string& path, size_t chunk) {
  auto reader = st.OpenRead(path);
  if (!reader.ok()) return "<error: " + reader.status().ToString() + ">";
  std::string out;
  std::string buf(chunk, '\0');
  for (;;) {
    auto n = (*reader)->Read(buf.data(), chunk);
    if (!n.ok()) return "<error: " + n.status().ToString() + ">";
    if (*n == 0) return out;
    out.append(buf.data(), *n);
  }
}

inline std::vector<std::string> Paths(Storage& st, const std::string& prefix) {
  auto r = st.List(prefix);
  if (!r.ok()) return {"<error: " + r.status().ToString() + ">"};
  std::vector<std::string> out;
  for (const auto& f : *r) out.push_back(f.path);
  return out;
}

inline bool Exists(Storage& st, const std::string& path) {
  auto r = st.Exists(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() && *r;
}

template <typename Driver>
class StorageConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = driver_.Open();
    if (storage_ == nullptr) GTEST_SKIP() << "storage driver not available";
  }
  Storage& storage() { return *storage_; }

  Driver driver_;  // declared first: destroyed after the storage
  std::unique_ptr<Storage> storage_;
};

TYPED_TEST_SUITE_P(StorageConformance);

TYPED_TEST_P(StorageConformance, RoundTripsSmallFiles) {
  Storage& st = this->storage();
  EXPECT_FALSE(st.Url().empty());
  ASSERT_TRUE(Put(st, "empty", ""));
  ASSERT_TRUE(Put(st, "one", "x"));
  EXPECT_EQ(GetOrError(st, "empty"), "");
  EXPECT_EQ(GetOrError(st, "one"), "x");
  EXPECT_EQ(ReadInChunks(st, "one", 1), "x");
  auto info = st.Stat("empty");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ((*info)->size, 0u);
  EXPECT_EQ(Paths(st, ""), (std::vector<std::string>{"empty", "one"}));
}

TYPED_TEST_P(StorageConformance, RoundTripsMiBsWrittenInOddChunks) {
  Storage& st = this->storage();
  const std::string data = Pattern((5 << 20) + 13, 1);
  auto writer = st.OpenWrite("big/file.bin");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const size_t chunks[] = {1, 7, 4093, 65537, (1 << 20) + 3, 333333, 2};
  size_t off = 0;
  for (size_t i = 0; off < data.size(); ++i) {
    size_t n = std::min(chunks[i % std::size(chunks)], data.size() - off);
    ASSERT_TRUE(Ok((*writer)->Write(std::string_view(data).substr(off, n))));
    off += n;
  }
  EXPECT_EQ((*writer)->bytes_written(), data.size());
  ASSERT_TRUE(Ok((*writer)->Close()));
  // EXPECT_TRUE rather than EXPECT_EQ: a mismatch would print 5 MiB.
  EXPECT_TRUE(ReadInChunks(st, "big/file.bin", 7777) == data);
  EXPECT_TRUE(GetOrError(st, "big/file.bin") == data);
  auto info = st.Stat("big/file.bin");
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->size, data.size());
}

TYPED_TEST_P(StorageConformance, AtomicWriteIsInvisibleUntilClose) {
  Storage& st = this->storage();
  ASSERT_TRUE(Put(st, "d/replaced", "old"));
  auto fresh = st.OpenWrite("d/fresh");
  auto replace = st.OpenWrite("d/replaced");
  ASSERT_TRUE(fresh.ok() && replace.ok());
  ASSERT_TRUE(Ok((*fresh)->Write("new file")));
  ASSERT_TRUE(Ok((*replace)->Write("new contents")));
  EXPECT_FALSE(Exists(st, "d/fresh"));
  EXPECT_EQ(Paths(st, ""), std::vector<std::string>{"d/replaced"});
  EXPECT_EQ(GetOrError(st, "d/replaced"), "old");
  ASSERT_TRUE(Ok((*fresh)->Close()));
  ASSERT_TRUE(Ok((*replace)->Close()));
  EXPECT_EQ(GetOrError(st, "d/fresh"), "new file");
  EXPECT_EQ(GetOrError(st, "d/replaced"), "new contents");
}

TYPED_TEST_P(StorageConformance, AbortAndDestructorLeaveNothing) {
  Storage& st = this->storage();
  ASSERT_TRUE(Put(st, "kept", "old"));
  {
    auto w = st.OpenWrite("aborted");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(Ok((*w)->Write("partial")));
    (*w)->Abort();
  }
  {
    auto w = st.OpenWrite("dropped/file");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(Ok((*w)->Write(Pattern(3 << 20, 2))));
  }
  {
    auto w = st.OpenWrite("kept");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(Ok((*w)->Write("replacement")));
    (*w)->Abort();
  }
  {
    auto w = st.OpenWrite("non-atomic", {.atomic = false});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(Ok((*w)->Write("partial")));
  }
  EXPECT_EQ(Paths(st, ""), std::vector<std::string>{"kept"});
  EXPECT_EQ(GetOrError(st, "kept"), "old");
}

TYPED_TEST_P(StorageConformance, NonAtomicAndUnsyncedWritesRoundTrip) {
  Storage& st = this->storage();
  ASSERT_TRUE(Put(st, "plain", "direct", {.atomic = false}));
  ASSERT_TRUE(Put(st, "plain", "again", {.atomic = false, .sync = false}));
  ASSERT_TRUE(Put(st, "lazy", "unsynced", {.atomic = true, .sync = false}));
  EXPECT_EQ(GetOrError(st, "plain"), "again");
  EXPECT_EQ(GetOrError(st, "lazy"), "unsynced");
}

TYPED_TEST_P(StorageConformance, OverwriteReplacesAndStatFollows) {
  Storage& st = this->storage();
  ASSERT_TRUE(Put(st, "f", Pattern(12345, 3)));
  ASSERT_TRUE(Put(st, "f", "short"));
  EXPECT_EQ(GetOrError(st, "f"), "short");
  auto info = st.Stat("f");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ((*info)->path, "f");
  EXPECT_EQ((*info)->size, 5u);
  // Object stores report their own clock: allow for skew, not for a wrong unit.
  int64_t now = std::time(nullptr);
  EXPECT_GT((*info)->mtime_s, now - 86400);
  EXPECT_LT((*info)->mtime_s, now + 86400);
  auto listed = st.List("f");
  ASSERT_TRUE(listed.ok() && listed->size() == 1);
  EXPECT_EQ((*listed)[0].size, 5u);
}

TYPED_TEST_P(StorageConformance, StatOfMissingFileOrDirectoryIsEmpty) {
  Storage& st = this->storage();
  ASSERT_TRUE(Put(st, "dir/file", "x"));
  for (const char* path : {"missing", "dir", "dir/missing", "dir/file/below"}) {
    auto info = st.Stat(path);
    ASSERT_TRUE(info.ok()) << path << ": " << info.status().ToString();
    EXPECT_FALSE(info->has_value()) << path;
  }
}

TYPED_TEST_P(StorageConformance, ListMatchesPrefixes) {
  Storage& st = this->storage();
  for (const char* path :
       {"backups/20260101-000000F/manifest", "backups/20260101-000000F/data/1", "backups/20261122-010203F/manifest",
        "backups/20270101-000000F/manifest", "backupsx/y", "archive/1", "top"}) {
    ASSERT_TRUE(Put(st, path, path));
  }
  using V = std::vector<std::string>;
  EXPECT_EQ(Paths(st, "backups/"), (V{"backups/20260101-000000F/data/1", "backups/20260101-000000F/manifest",
                                      "backups/20261122-010203F/manifest", "backups/20270101-000000F/manifest"}));
  EXPECT_EQ(Paths(st, "backups/2026"), (V{"backups/20260101-000000F/data/1", "backups/20260101-000000F/manifest",
                                          "backups/20261122-010203F/manifest"}));
  EXPECT_EQ(Paths(st, "backups/20260101-000000F/data/"), V{"backups/20260101-000000F/data/1"});
  EXPECT_EQ(Paths(st, "backups"),
            (V{"backups/20260101-000000F/data/1", "backups/20260101-000000F/manifest",
               "backups/20261122-010203F/manifest", "backups/20270101-000000F/manifest", "backupsx/y"}));
  EXPECT_EQ(Paths(st, "top"), V{"top"});
  EXPECT_EQ(Paths(st, "to"), V{"top"});
  EXPECT_EQ(Paths(st, "nothing/"), V{});
  EXPECT_EQ(Paths(st, "backups/2028"), V{});
  EXPECT_EQ(Paths(st, "").size(), 7u);
}

TYPED_TEST_P(StorageConformance, ListIsSortedByBytes) {
  Storage& st = this->storage();
  // '-' < '/' < '0' < 'B' < 'a' < UTF-8 lead bytes, whatever the directory order.
  for (const char* path : {"a0", "a/b", "a-b", "aB", "ab", "a\xc3\xa4", "a/a/z", "a/a0"}) {
    ASSERT_TRUE(Put(st, path, "x"));
  }
  EXPECT_EQ(Paths(st, ""), (std::vector<std::string>{"a-b", "a/a/z", "a/a0", "a/b", "a0", "aB", "ab", "a\xc3\xa4"}));
}

TYPED_TEST_P(StorageConformance, RemoveIsIdempotent) {
  Storage& st = this->storage();
  ASSERT_TRUE(Put(st, "dir/f", "x"));
  ASSERT_TRUE(Put(st, "dir/g", "y"));
  EXPECT_TRUE(Ok(st.Remove("dir/f")));
  EXPECT_TRUE(Ok(st.Remove("dir/f")));
  EXPECT_TRUE(Ok(st.Remove("never/there")));
  EXPECT_FALSE(Exists(st, "dir/f"));
  EXPECT_EQ(Paths(st, ""), std::vector<std::string>{"dir/g"});
}

TYPED_TEST_P(StorageConformance, RemovePrefixRemovesOnlyWhatMatches) {
  Storage& st = this->storage();
  for (const char* path : {"backups/A/manifest", "backups/A/data/1", "backups/A/data/deep/2", "backups/A2/manifest",
                           "backups/Ax", "tmp/2026-1", "tmp/2026-2/x", "tmp/2027"}) {
    ASSERT_TRUE(Put(st, path, "x"));
  }
  EXPECT_TRUE(Ok(st.RemovePrefix("backups/A/")));
  EXPECT_TRUE(Ok(st.RemovePrefix("tmp/2026")));
  EXPECT_TRUE(Ok(st.RemovePrefix("nothing/here/")));
  EXPECT_EQ(Paths(st, ""), (std::vector<std::string>{"backups/A2/manifest", "backups/Ax", "tmp/2027"}));
  EXPECT_FALSE(Exists(st, "backups/A/manifest"));
  // The prefix can be written again after removal.
  ASSERT_TRUE(Put(st, "backups/A/manifest", "again"));
  EXPECT_EQ(GetOrError(st, "backups/A/manifest"), "again");
}

TYPED_TEST_P(StorageConformance, MissingFileIsNotFound) {
  Storage& st = this->storage();
  ASSERT_TRUE(Put(st, "dir/file", "x"));
  for (const char* path : {"missing", "dir/missing", "nodir/missing"}) {
    auto reader = st.OpenRead(path);
    ASSERT_FALSE(reader.ok()) << path;
    EXPECT_EQ(reader.status().code(), Code::kNotFound) << reader.status().ToString();
    EXPECT_EQ(reader.status().exit_code(), 2);
    EXPECT_NE(reader.status().message().find(path), std::string::npos) << reader.status().message();
    auto got = st.Get(path);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), Code::kNotFound);
  }
}

TYPED_TEST_P(StorageConformance, PathsWithSpacesAndNonAsciiCharacters) {
  Storage& st = this->storage();
  const std::string paths[] = {"dir with spaces/file name.txt", "z\xc3\xa4hlung/\xe6\x97\xa5\xe6\x9c\xac.bin",
                               "sym+bols/a=b&c%20d;'q'"};
  for (const auto& p : paths) ASSERT_TRUE(Put(st, p, "content of " + p));
  for (const auto& p : paths) EXPECT_EQ(GetOrError(st, p), "content of " + p);
  EXPECT_EQ(Paths(st, "dir with "), std::vector<std::string>{paths[0]});
  EXPECT_EQ(Paths(st, "z\xc3\xa4hlung/"), std::vector<std::string>{paths[1]});
  EXPECT_EQ(Paths(st, "sym+bols/"), std::vector<std::string>{paths[2]});
  auto info = st.Stat(paths[1]);
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->size, ("content of " + paths[1]).size());
  for (const auto& p : paths) EXPECT_TRUE(Ok(st.Remove(p)));
  EXPECT_EQ(Paths(st, ""), std::vector<std::string>{});
}

TYPED_TEST_P(StorageConformance, ConcurrentWritersToOneStorage) {
  Storage& st = this->storage();
  constexpr int kThreads = 8;
  constexpr int kFiles = 10;
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&st, &results, t] {
      for (int i = 0; i < kFiles && results[t].ok(); ++i) {
        std::string path = "shared/" + std::to_string(t) + "/" + std::to_string(i);
        results[t] = st.Put(path, Pattern(1000 + i, t * 100 + i));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : results) EXPECT_TRUE(Ok(s));
  EXPECT_EQ(Paths(st, "shared/").size(), static_cast<size_t>(kThreads * kFiles));
  EXPECT_TRUE(GetOrError(st, "shared/3/7") == Pattern(1007, 307));
}

REGISTER_TYPED_TEST_SUITE_P(StorageConformance, RoundTripsSmallFiles, RoundTripsMiBsWrittenInOddChunks,
                            AtomicWriteIsInvisibleUntilClose, AbortAndDestructorLeaveNothing,
                            NonAtomicAndUnsyncedWritesRoundTrip, OverwriteReplacesAndStatFollows,
                            StatOfMissingFileOrDirectoryIsEmpty, ListMatchesPrefixes, ListIsSortedByBytes,
                            RemoveIsIdempotent, RemovePrefixRemovesOnlyWhatMatches, MissingFileIsNotFound,
                            PathsWithSpacesAndNonAsciiCharacters, ConcurrentWritersToOneStorage);

}  // namespace pgk::storage::conformance
