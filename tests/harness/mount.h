// File systems that exist for one test only (a tiny tmpfs to fill, a read-only view of a
// directory), so that fault tests hit the real kernel errors (ENOSPC, EROFS) rather than
// injected ones. As root, chmod does not stop writes, so a read-only mount is the only
// honest read-only repository.
//
// The mount lives in a private mount namespace (`unshare -m`, or `unshare -rm` with a user
// namespace when not root) held by a sleeping child process. Nothing changes for the rest
// of the machine; every process reaches the mount through /proc/<child>/root/<dir>, so the
// pgkeeper binary needs no wrapper. Killing the child (the destructor, or the kernel's
// parent-death signal if the test binary dies) unmounts it.
#pragma once

#include <memory>
#include <string>

#include "common/process.h"

namespace pgk::test {

class PrivateMount {
 public:
  // A tmpfs of `bytes` on a fresh directory TempPath(name). Null with `why` set when no
  // mount namespace can be made here (the test should GTEST_SKIP with it).
  static std::unique_ptr<PrivateMount> Tmpfs(const std::string& name, size_t bytes, std::string* why);
  // `dir` (which must exist) as seen through a read-only bind mount of itself.
  static std::unique_ptr<PrivateMount> ReadOnly(const std::string& dir, std::string* why);
  ~PrivateMount();
  PrivateMount(const PrivateMount&) = delete;
  PrivateMount& operator=(const PrivateMount&) = delete;

  // Where every process sees the mounted directory: /proc/<pid>/root<dir>.
  const std::string& path() const { return path_; }
  // Bytes in use on the mounted file system.
  uint64_t UsedBytes() const;

 private:
  static std::unique_ptr<PrivateMount> Make(const std::string& dir, const std::string& script, std::string* why);
  PrivateMount(Process p, std::string path) : process_(std::move(p)), path_(std::move(path)) {}
  Process process_;
  std::string path_;
};

}  // namespace pgk::test
