// Logging. Logs go to stderr (stdout is for command output and --json), through one
// spdlog logger whose sink masks secrets in every message. Verbosity: -q errors only,
// default info, -v debug, -vv trace.
#pragma once

#include <spdlog/spdlog.h>

namespace pgk::log {

enum class Verbosity { kQuiet, kNormal, kVerbose, kTrace };

void Init(Verbosity verbosity);
Verbosity CurrentVerbosity();

template <typename... Args>
void Debug(fmt::format_string<Args...> f, Args&&... args) {
  spdlog::debug(f, std::forward<Args>(args)...);
}
template <typename... Args>
void Info(fmt::format_string<Args...> f, Args&&... args) {
  spdlog::info(f, std::forward<Args>(args)...);
}
template <typename... Args>
void Warn(fmt::format_string<Args...> f, Args&&... args) {
  spdlog::warn(f, std::forward<Args>(args)...);
}
template <typename... Args>
void Error(fmt::format_string<Args...> f, Args&&... args) {
  spdlog::error(f, std::forward<Args>(args)...);
}

}  // namespace pgk::log
