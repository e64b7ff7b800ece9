// URL dispatch for OpenStorage (storage.h): the only place that knows every driver.
#include <filesystem>

#include "storage/memory/memory_storage.h"
#include "storage/posix/posix_storage.h"
#include "storage/s3/s3_storage.h"
#include "storage/storage.h"

namespace pgk::storage {

Result<std::unique_ptr<Storage>> OpenStorage(const std::string& url, const StorageOptions& options) {
  if (url.empty()) {
    return Status::InvalidArgument("no repository given", "pass --repo file:///path, a path, or s3://bucket/prefix");
  }
  if (url.rfind("s3://", 0) == 0) return OpenS3Storage(url, options);
  if (url.rfind("memory://", 0) == 0) return OpenMemoryStorage(url.substr(9));
  if (url.rfind("file://", 0) == 0) {
    std::string path = url.substr(7);
    if (path.empty() || path[0] != '/') {
      return Status::InvalidArgument("repository URL " + url + " must name an absolute path", "write file:///abs/path");
    }
    return OpenPosixStorage(path);
  }
  if (url.find("://") != std::string::npos) {
    return Status::InvalidArgument("unsupported repository URL scheme in " + url,
                                   "use file:///path, a plain path or s3://bucket/prefix");
  }
  std::error_code ec;
  return OpenPosixStorage(std::filesystem::absolute(url, ec).string());
}

}  // namespace pgk::storage
