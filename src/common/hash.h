// Hashes used outside the backup pipeline: file checksums for migrations and similar.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pgk {

// Lowercase hex of `bytes`.
std::string HexEncode(std::string_view bytes);
// `bytes` random bytes from OpenSSL's CSPRNG, as lowercase hex (2 x bytes characters).
std::string RandomHex(size_t bytes);
// Lowercase hex SHA-256 of `data` (OpenSSL EVP).
std::string Sha256Hex(std::string_view data);
// 64-bit FNV-1a: stable across versions and platforms (unlike std::hash), for keys that
// must not change between releases (advisory lock keys, directory names).
uint64_t Fnv1a64(std::string_view data);

// Flyway's migration checksum: CRC-32 over the file's lines with line terminators
// (\n, \r\n, \r) removed and a leading UTF-8 BOM dropped, as a signed 32-bit integer.
// Lets pgkeeper validate history rows imported from flyway_schema_history.
int32_t FlywayChecksum(std::string_view data);

}  // namespace pgk
