#include "storage/storage.h"

namespace pgk::storage {

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
