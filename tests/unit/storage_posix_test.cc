#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <optional>

#include "common/fs.h"
#include "storage/posix/posix_storage.h"
#include "storage_conformance.h"

namespace pgk::storage {

namespace {

struct PosixDriver {
  std::unique_ptr<Storage> Open() {
    auto dir = fs::TempDir::Create("pgk-storage-");
    if (!dir.ok()) {
      ADD_FAILURE() << dir.status().ToString();
      return nullptr;
    }
    tmp.emplace(std::move(dir).value());
    auto st = OpenPosixStorage((tmp->path() / "repo").string());
    if (!st.ok()) {
      ADD_FAILURE() << st.status().ToString();
      return nullptr;
    }
    return std::move(st).value();
  }
  std::optional<fs::TempDir> tmp;
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Posix, StorageConformance, PosixDriver);
}  // namespace conformance

namespace {

using conformance::GetOrError;
using conformance::Ok;
using conformance::Paths;
using conformance::Put;
namespace stdfs = std::filesystem;

mode_t ModeOf(const stdfs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// The names in a directory as the kernel sees them, temp files included.
std::vector<std::string> RawNames(const stdfs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class PosixStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = fs::TempDir::Create("pgk-posix-");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    tmp_.emplace(std::move(dir).value());
    root_ = tmp_->path() / "repo";
  }

  std::unique_ptr<Storage> Open(PosixSyscalls sys = {}) {
    auto st = OpenPosixStorage(root_.string(), std::move(sys));
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? std::move(st).value() : nullptr;
  }

  std::optional<fs::TempDir> tmp_;
  stdfs::path root_;
};

TEST_F(PosixStorageTest, CreatesDirectories0700AndFiles0600) {
  auto st = OpenPosixStorage((tmp_->path() / "a/b/repo").string());
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(ModeOf(tmp_->path() / "a"), 0700u);
  EXPECT_EQ(ModeOf(tmp_->path() / "a/b/repo"), 0700u);
  ASSERT_TRUE(Put(**st, "x/y/atomic", "data"));
  EXPECT_EQ(ModeOf(tmp_->path() / "a/b/repo/x"), 0700u);
  EXPECT_EQ(ModeOf(tmp_->path() / "a/b/repo/x/y"), 0700u);
  EXPECT_EQ(ModeOf(tmp_->path() / "a/b/repo/x/y/atomic"), 0600u);
  // A non-atomic write into an existing, more open file makes it private too.
  stdfs::path open_file = tmp_->path() / "a/b/repo/x/open";
  ASSERT_TRUE(Ok(fs::WriteFile(open_file, "old", {.atomic = false, .sync = false, .mode = 0644})));
  ::chmod(open_file.c_str(), 0644);
  ASSERT_TRUE(Put(**st, "x/open", "new", {.atomic = false}));
  EXPECT_EQ(ModeOf(open_file), 0600u);
  EXPECT_TRUE((*st)->features().real_directories);
}

TEST_F(PosixStorageTest, UrlIsTheNormalizedAbsoluteRoot) {
  auto st = OpenPosixStorage(tmp_->path().string() + "/./repo/");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ((*st)->Url(), "file://" + root_.string());
  stdfs::path relative = stdfs::relative(root_, stdfs::current_path());
  ASSERT_TRUE(relative.is_relative()) << relative;
  auto rel = OpenPosixStorage(relative.string());
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ((*rel)->Url(), "file://" + root_.string());
  EXPECT_EQ(OpenPosixStorage("").status().code(), Code::kInvalidArgument);
}

TEST_F(PosixStorageTest, TempFilesAreHiddenAndRemovedOnAbort) {
  auto st = Open();
  ASSERT_TRUE(st);
  {
    auto w = st->OpenWrite("d/f");
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE(Ok((*w)->Write(std::string(3 << 20, 'x'))));  // past the buffer: on disk
    auto names = RawNames(root_ / "d");
    ASSERT_EQ(names.size(), 1u);
    EXPECT_TRUE(names[0].starts_with(std::string("f") + kPosixTempMarker)) << names[0];
    EXPECT_EQ(ModeOf(root_ / "d" / names[0]), 0600u);
    EXPECT_EQ(Paths(*st, ""), std::vector<std::string>{});
    (*w)->Abort();
    EXPECT_EQ(RawNames(root_ / "d"), std::vector<std::string>{});
  }
  {
    auto w = st->OpenWrite("d/g");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(Ok((*w)->Write("small, still buffered")));
    EXPECT_EQ(RawNames(root_ / "d").size(), 1u);
  }
  EXPECT_EQ(RawNames(root_ / "d"), std::vector<std::string>{});
}

TEST_F(PosixStorageTest, LeftoversOfACrashAreNotListedAndRemovedWithTheirPrefix) {
  auto st = Open();
  ASSERT_TRUE(st);
  ASSERT_TRUE(Put(*st, "backups/A/manifest", "m"));
  ASSERT_TRUE(Put(*st, "backups/B/manifest", "m"));
  std::string crashed = "manifest.copy" + std::string(kPosixTempMarker) + "0123456789abcdef";
  ASSERT_TRUE(Ok(fs::WriteFile(root_ / "backups/A" / crashed, "half")));
  ASSERT_TRUE(Ok(fs::MakeDirs(root_ / "backups/A/empty/deeper")));
  EXPECT_EQ(Paths(*st, "backups/"), (std::vector<std::string>{"backups/A/manifest", "backups/B/manifest"}));
  ASSERT_TRUE(Ok(st->RemovePrefix("backups/A/")));
  EXPECT_FALSE(stdfs::exists(root_ / "backups/A"));
  EXPECT_TRUE(stdfs::exists(root_ / "backups/B/manifest"));
  ASSERT_TRUE(Ok(st->RemovePrefix("backups/")));
  EXPECT_EQ(RawNames(root_), std::vector<std::string>{});
}

TEST_F(PosixStorageTest, PathsOutsideTheRootAreRefused) {
  auto st = Open();
  ASSERT_TRUE(st);
  ASSERT_TRUE(Ok(fs::WriteFile(tmp_->path() / "outside", "secret")));
  for (const char* p : {"../outside", "a/../../outside", "/etc/passwd", "a/./b", "a//b", "", "a/", "..", "."}) {
    SCOPED_TRACE(p);
    auto w = st->OpenWrite(p);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.status().code(), Code::kInvalidArgument) << w.status().ToString();
    EXPECT_EQ(w.status().exit_code(), 2);
    EXPECT_EQ(st->OpenRead(p).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(st->Stat(p).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(st->Remove(p).code(), Code::kInvalidArgument);
  }
  for (const char* p : {"../", "/", "a/../", "../out"}) {
    SCOPED_TRACE(p);
    EXPECT_EQ(st->List(p).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(st->RemovePrefix(p).code(), Code::kInvalidArgument);
  }
  // A prefix's last component is a partial name: "a/.." matches "a/..hidden".
  ASSERT_TRUE(Put(*st, "a/..hidden", "x"));
  EXPECT_EQ(Paths(*st, "a/.."), std::vector<std::string>{"a/..hidden"});
  EXPECT_EQ(GetOrError(*st, "a/..hidden"), "x");
  EXPECT_TRUE(stdfs::exists(tmp_->path() / "outside"));
}

TEST_F(PosixStorageTest, DirectoryIsNotAFile) {
  auto st = Open();
  ASSERT_TRUE(st);
  ASSERT_TRUE(Ok(fs::MakeDirs(root_ / "dir")));
  EXPECT_EQ(st->OpenRead("dir").status().code(), Code::kNotFound);
  EXPECT_FALSE(st->Put("dir", "x").ok());
  EXPECT_EQ(RawNames(root_), std::vector<std::string>{"dir"});  // no temp file left
}

TEST_F(PosixStorageTest, ReadOnlyDirectoryIsAnIoErrorWithAHint) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores permissions; see the injected EACCES test";
  auto st = Open();
  ASSERT_TRUE(st);
  ASSERT_EQ(::chmod(root_.c_str(), 0500), 0);
  Status s = st->Put("f", "x");
  ::chmod(root_.c_str(), 0700);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kIO);
  EXPECT_EQ(s.exit_code(), 3);
  EXPECT_NE(s.message().find((root_ / "f").string()), std::string::npos) << s.ToString();
  EXPECT_NE(s.hint().find("permissions"), std::string::npos) << s.ToString();
}

TEST_F(PosixStorageTest, FullDiskMidWriteLeavesTheOldFile) {
  auto written = std::make_shared<std::atomic<size_t>>(0);
  PosixSyscalls sys;
  sys.write = [written](int fd, const void* buf, size_t n) -> ssize_t {
    if (*written + n > (2 << 20)) {
      errno = ENOSPC;
      return -1;
    }
    *written += n;
    return ::write(fd, buf, n);
  };
  auto st = Open(sys);
  ASSERT_TRUE(st);
  ASSERT_TRUE(Put(*st, "dir/big", "old"));
  auto w = st->OpenWrite("dir/big");
  ASSERT_TRUE(w.ok());
  Status s;
  for (int i = 0; i < 8 && s.ok(); ++i) s = (*w)->Write(std::string(1 << 19, 'x'));
  if (s.ok()) s = (*w)->Close();
  ASSERT_FALSE(s.ok());
  std::string target = (root_ / "dir/big").string();
  EXPECT_EQ(s.code(), Code::kIO);
  EXPECT_NE(s.message().find("cannot write " + target), std::string::npos) << s.ToString();
  EXPECT_EQ(s.hint(), "the file system holding " + target + " is full");
  EXPECT_EQ(RawNames(root_ / "dir"), std::vector<std::string>{"big"});
  EXPECT_EQ(GetOrError(*st, "dir/big"), "old");
  EXPECT_FALSE((*w)->Close().ok());  // the writer is spent
}

TEST_F(PosixStorageTest, ReadOnlyFileSystemAndPermissionErrorsCarryHints) {
  PosixSyscalls sys;
  sys.open = [](const char* p, int flags, mode_t mode) {
    if (flags & O_CREAT) {
      errno = EROFS;
      return -1;
    }
    return ::open(p, flags, mode);
  };
  auto st = Open(sys);
  ASSERT_TRUE(st);
  Status s = st->Put("f", "x");
  EXPECT_EQ(s.code(), Code::kIO);
  EXPECT_EQ(s.exit_code(), 3);
  EXPECT_EQ(s.hint(), (root_ / "f").string() + " is on a read-only file system") << s.ToString();

  PosixSyscalls denied;
  denied.mkdir = [](const char*, mode_t) {
    errno = EACCES;
    return -1;
  };
  st = Open(denied);
  ASSERT_TRUE(st);
  s = st->Put("new/dir/f", "x");
  EXPECT_EQ(s.code(), Code::kIO);
  EXPECT_NE(s.message().find("cannot create directory " + (root_ / "new").string()), std::string::npos) << s.ToString();
  EXPECT_NE(s.hint().find("check the permissions of " + (root_ / "new").string()), std::string::npos) << s.ToString();
}

TEST_F(PosixStorageTest, FailedFsyncOrRenameLeavesNothing) {
  struct Case {
    const char* name;
    int fail_fsync_call;  // 0: file fsync, 1: directory fsync, -1: none
    bool fail_rename;
  };
  for (const Case& c : {Case{"file fsync", 0, false}, Case{"directory fsync", 1, false}, Case{"rename", -1, true}}) {
    SCOPED_TRACE(c.name);
    auto fsyncs = std::make_shared<int>(0);
    PosixSyscalls sys;
    sys.fsync = [c, fsyncs](int fd) {
      if ((*fsyncs)++ == c.fail_fsync_call) {
        errno = EIO;
        return -1;
      }
      return ::fsync(fd);
    };
    sys.rename = [c](const char* from, const char* to) {
      if (c.fail_rename) {
        errno = EXDEV;
        return -1;
      }
      return ::rename(from, to);
    };
    auto st = Open(sys);
    ASSERT_TRUE(st);
    Status s = st->Put("d/f", "data");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Code::kIO);
    EXPECT_EQ(RawNames(root_ / "d"), std::vector<std::string>{}) << s.ToString();
    ASSERT_TRUE(Ok(fs::RemoveAll(root_)));
  }
}

TEST_F(PosixStorageTest, WritesAreBufferedAndSyncIsOptional) {
  auto writes = std::make_shared<int>(0);
  auto fsyncs = std::make_shared<int>(0);
  PosixSyscalls sys;
  sys.write = [writes](int fd, const void* buf, size_t n) {
    ++*writes;
    return ::write(fd, buf, n);
  };
  sys.fsync = [fsyncs](int fd) {
    ++*fsyncs;
    return ::fsync(fd);
  };
  auto st = Open(sys);
  ASSERT_TRUE(st);
  auto w = st->OpenWrite("f");
  ASSERT_TRUE(w.ok());
  std::string chunk(1000, 'y');
  for (int i = 0; i < 4096; ++i) ASSERT_TRUE(Ok((*w)->Write(chunk)));
  ASSERT_TRUE(Ok((*w)->Close()));
  EXPECT_LE(*writes, 5);
  EXPECT_EQ(*fsyncs, 2);  // the file, then its directory
  *fsyncs = 0;
  ASSERT_TRUE(Put(*st, "g", "lazy", {.sync = false}));
  ASSERT_TRUE(Put(*st, "h", "lazy", {.atomic = false, .sync = false}));
  EXPECT_EQ(*fsyncs, 0);
}

TEST_F(PosixStorageTest, ReadRetriesOnEintr) {
  auto calls = std::make_shared<int>(0);
  PosixSyscalls sys;
  sys.read = [calls](int fd, void* buf, size_t n) -> ssize_t {
    if ((*calls)++ % 2 == 0) {
      errno = EINTR;
      return -1;
    }
    return ::read(fd, buf, n);
  };
  auto st = Open(sys);
  ASSERT_TRUE(st);
  std::string data = conformance::Pattern(200000, 9);
  ASSERT_TRUE(Put(*st, "f", data));
  EXPECT_TRUE(GetOrError(*st, "f") == data);
  EXPECT_GT(*calls, 2);
}

}  // namespace

}  // namespace pgk::storage
