#include "storage/storage.h"

namespace pgk::storage {

Status CheckPath(const std::string& path, PathKind kind) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid storage path \"" + path + "\": " + why,
                                   "storage paths are relative to the repository, with '/' separators");
  };
  if (path.empty()) return kind == PathKind::kPrefix ? Status::Ok() : bad("the path is empty");
  if (path.front() == '/') return bad("absolute paths are not allowed");
  if (path.find('\0') != std::string::npos) return bad("the path contains a NUL byte");
  if (kind == PathKind::kFile && path.back() == '/') return bad("a file path cannot end with '/'");
  for (size_t start = 0; start < path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) {
      if (kind == PathKind::kPrefix) break;
      end = path.size();
    }
    std::string_view part(path.data() + start, end - start);
    if (part.empty()) return bad("empty path component");
    if (part == "." || part == "..") return bad("\".\" and \"..\" components are not allowed");
    start = end + 1;
  }
  return Status::Ok();
}

Status Storage::Put(const std::string& path, std::string_view data, const WriteOptions& options) {
  PGK_ASSIGN_OR_RETURN(auto writer, OpenWrite(path, options));
  PGK_RETURN_IF_ERROR(writer->Write(data));
  return writer->Close();
}

Result<std::string> Storage::Get(const std::string& path) {
  PGK_ASSIGN_OR_RETURN(auto reader, OpenRead(path));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    PGK_ASSIGN_OR_RETURN(size_t n, reader->Read(buf, sizeof buf));
    if (n == 0) break;
    out.append(buf, n);
  }
  return out;
}

Result<bool> Storage::Exists(const std::string& path) {
  PGK_ASSIGN_OR_RETURN(auto info, Stat(path));
  return info.has_value();
}

}  // namespace pgk::storage
