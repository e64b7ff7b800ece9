#include "serve/clock.h"

#include <chrono>
#include <cstdlib>

#include "repo/manifest.h"

namespace pgk::serve {

double SystemClock::Now() const {
  auto since = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(since).count() + offset_s_;
}

Result<SystemClock> ClockFromEnvironment() {
  const char* v = std::getenv("PGKEEPER_TEST_NOW");
  if (!v || !*v) return SystemClock();
  std::string text = v;
  double target = 0;
  if (text.find_first_not_of("0123456789.") == std::string::npos) {
    target = std::strtod(text.c_str(), nullptr);
  } else {
    auto t = repo::ParseIso8601(text);
    if (!t.ok()) {
      return Status::Config("PGKEEPER_TEST_NOW='" + text + "' is not an ISO 8601 UTC time",
                            "it is for tests only: unset it, or write e.g. 2026-03-29T00:59:50Z");
    }
    target = static_cast<double>(*t);
  }
  return SystemClock(target - SystemClock().Now());
}

}  // namespace pgk::serve
