#include "pipeline/string_io.h"

namespace pgk::pipeline {

Result<std::string> ReadAll(storage::Reader& reader) {
  std::string out;
  char buf[16 << 10];
  while (true) {
    PGK_ASSIGN_OR_RETURN(size_t n, reader.Read(buf, sizeof(buf)));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

}  // namespace pgk::pipeline
