// Standard base64 (RFC 4648 section 4, '+' and '/'), for keys, salts and wrapped keys
// stored in text files.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgk::pipeline {

// With '=' padding.
std::string Base64Encode(std::span<const uint8_t> data);
// Accepts the text with or without its '=' padding; nullopt for any other character, a
// misplaced '=' or an impossible length.
std::optional<std::vector<uint8_t>> Base64Decode(std::string_view text);

}  // namespace pgk::pipeline
