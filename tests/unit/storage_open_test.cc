#include <gtest/gtest.h>

#include "common/fs.h"
#include "storage/storage.h"

namespace pgk::storage {

TEST(StorageOpen, DispatchesByScheme) {
  auto tmp = fs::TempDir::Create("pgk-open-");
  ASSERT_TRUE(tmp.ok());
  auto posix = OpenStorage("file://" + tmp->path().string() + "/repo");
  ASSERT_TRUE(posix.ok()) << posix.status().ToString();
  EXPECT_EQ((*posix)->Url().rfind("file://", 0), 0u);
  ASSERT_TRUE((*posix)->Put("a/b.txt", "hello").ok());
  EXPECT_EQ(*(*posix)->Get("a/b.txt"), "hello");
  auto plain = OpenStorage(tmp->path().string() + "/repo");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*(*plain)->Get("a/b.txt"), "hello") << "a plain path is the same posix repository";
  auto memory = OpenStorage("memory://x");
  ASSERT_TRUE(memory.ok());
  EXPECT_FALSE(*(*memory)->Exists("nothing"));
}

TEST(StorageOpen, RefusesBadUrls) {
  EXPECT_EQ(OpenStorage("").status().exit_code(), 2);
  EXPECT_EQ(OpenStorage("ftp://host/x").status().exit_code(), 2);
  EXPECT_EQ(OpenStorage("file://relative/path").status().exit_code(), 2);
}

}  // namespace pgk::storage
