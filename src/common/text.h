// Small text helpers shared across capabilities.
#pragma once

#include <string_view>

namespace pgk {

// `s` without leading and trailing whitespace (std::isspace, the C locale's).
std::string_view Trim(std::string_view s);

}  // namespace pgk
