#include <gtest/gtest.h>

#include "storage/memory/memory_storage.h"
#include "storage_conformance.h"

namespace pgk::storage {

namespace {

struct MemoryDriver {
  std::unique_ptr<Storage> Open() { return OpenMemoryStorage("conformance"); }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Memory, StorageConformance, MemoryDriver);
}  // namespace conformance

namespace {

using conformance::Exists;
using conformance::GetOrError;
using conformance::Ok;
using conformance::Paths;
using conformance::Put;

TEST(MemoryStorage, EachOpenIsANewStoreNamedInItsUrl) {
  auto a = OpenMemoryStorage("repo");
  auto b = OpenMemoryStorage("repo");
  EXPECT_EQ(a->Url(), "memory://repo");
  EXPECT_FALSE(a->features().real_directories);
  ASSERT_TRUE(Put(*a, "f", "x"));
  EXPECT_FALSE(Exists(*b, "f"));
}

TEST(MemoryStorage, FullDiskMidWriteLeavesNothing) {
  MemoryStorage st("full");
  ASSERT_TRUE(Put(st, "kept", "old"));
  st.FailWritesAfter(1000, Status::IO("no space left on device", "free some space"));
  auto w = st.OpenWrite("kept");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(Ok((*w)->Write(std::string(600, 'a'))));
  Status s = (*w)->Write(std::string(600, 'b'));
  EXPECT_EQ(s.code(), Code::kIO);
  EXPECT_EQ(s.message(), "no space left on device");
  EXPECT_EQ(s.hint(), "free some space");
  EXPECT_EQ((*w)->bytes_written(), 600u);
  EXPECT_FALSE((*w)->Close().ok());
  EXPECT_EQ(GetOrError(st, "kept"), "old");
  EXPECT_EQ(st.FileCount(), 1u);
  // Full stays full, even for a write that would have fitted, like a real disk.
  EXPECT_EQ(st.Put("small", "x").code(), Code::kIO);
  // A non-atomic write was visible as it went, and is gone after the failure.
  st.FailWritesAfter(10, Status::IO("no space left on device"));
  auto direct = st.OpenWrite("direct", {.atomic = false});
  ASSERT_TRUE(direct.ok());
  ASSERT_TRUE(Ok((*direct)->Write("12345")));
  EXPECT_EQ(GetOrError(st, "direct"), "12345");
  EXPECT_FALSE((*direct)->Write("678901").ok());
  EXPECT_FALSE(Exists(st, "direct"));
  st.ClearFaults();
  ASSERT_TRUE(Put(st, "small", "x"));
  EXPECT_EQ(st.FileCount(), 2u);
}

TEST(MemoryStorage, FailNextCloseFailsOnce) {
  MemoryStorage st("close");
  st.FailNextClose(Status::IO("cannot fsync memory://close/f: input/output error"));
  Status s = st.Put("f", "data");
  EXPECT_EQ(s.code(), Code::kIO);
  EXPECT_NE(s.message().find("input/output error"), std::string::npos);
  EXPECT_FALSE(Exists(st, "f"));
  EXPECT_EQ(st.FileCount(), 0u);
  ASSERT_TRUE(Put(st, "f", "data"));
  EXPECT_EQ(GetOrError(st, "f"), "data");
}

TEST(MemoryStorage, ReadOnlyRefusesWritesButServesReads) {
  MemoryStorage st("ro");
  ASSERT_TRUE(Put(st, "f", "data"));
  auto before = st.OpenWrite("opened-before");
  ASSERT_TRUE(before.ok());
  st.SetReadOnly(true);
  auto w = st.OpenWrite("g");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kIO);
  EXPECT_EQ(w.status().exit_code(), 3);
  EXPECT_NE(w.status().hint().find("read-only"), std::string::npos) << w.status().ToString();
  EXPECT_EQ(st.Remove("f").code(), Code::kIO);
  EXPECT_EQ(st.RemovePrefix("").code(), Code::kIO);
  EXPECT_FALSE((*before)->Write("x").ok());
  EXPECT_EQ(GetOrError(st, "f"), "data");
  EXPECT_EQ(Paths(st, ""), std::vector<std::string>{"f"});
  st.SetReadOnly(false);
  ASSERT_TRUE(Put(st, "g", "now"));
  EXPECT_EQ(st.FileCount(), 2u);
}

TEST(MemoryStorage, ReaderKeepsWhatItOpenedWhenTheFileIsReplaced) {
  MemoryStorage st("snap");
  ASSERT_TRUE(Put(st, "f", "first version"));
  auto r = st.OpenRead("f");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(Put(st, "f", "second"));
  char buf[64];
  auto n = (*r)->Read(buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "first version");
}

TEST(MemoryStorage, ReadersAndWritersMayOutliveTheStorage) {
  auto st = OpenMemoryStorage("gone");
  ASSERT_TRUE(Put(*st, "f", "abc"));
  auto r = st->OpenRead("f");
  auto w = st->OpenWrite("g");
  ASSERT_TRUE(r.ok() && w.ok());
  st.reset();
  char buf[8];
  auto n = (*r)->Read(buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3u);
  EXPECT_TRUE(Ok((*w)->Write("x")));
  EXPECT_TRUE(Ok((*w)->Close()));
}

TEST(MemoryStorage, PathsAreCheckedLikeThePosixDriver) {
  MemoryStorage st("paths");
  for (const char* p : {"../x", "/abs", "a/./b", "a//b", "", "a/"}) {
    EXPECT_EQ(st.OpenWrite(p).status().code(), Code::kInvalidArgument) << p;
    EXPECT_EQ(st.OpenRead(p).status().code(), Code::kInvalidArgument) << p;
  }
  EXPECT_EQ(st.List("../").status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(st.List("a/..").ok());  // a partial name, as in "a/..hidden"
}

}  // namespace

}  // namespace pgk::storage
