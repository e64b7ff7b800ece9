// Wall-clock times rendered in UTC, the one zone of every record pgkeeper writes.
#pragma once

#include <cstdint>
#include <string>

namespace pgk {

inline constexpr const char* kIsoUtc = "%Y-%m-%dT%H:%M:%SZ";  // 2026-12-06T19:04:05Z
inline constexpr const char* kCompactUtc = "%Y%m%dT%H%M%SZ";  // 20261206T190405Z: ids, names, x-amz-date

// `epoch_s` in UTC through strftime(`format`); at most 63 characters.
std::string FormatUtc(int64_t epoch_s, const char* format);

}  // namespace pgk
