#include "common/utc_time.h"

#include <ctime>

namespace pgk {

std::string FormatUtc(int64_t epoch_s, const char* format) {
  std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace pgk
