#pragma once

namespace pgk {
// Set by CMake from project(VERSION); the fallback keeps tools like clangd happy.
#ifdef PGKEEPER_VERSION
inline constexpr const char* kVersion = PGKEEPER_VERSION;
#else
inline constexpr const char* kVersion = "0.0.0-dev";
#endif
}  // namespace pgk
