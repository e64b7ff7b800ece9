#include "common/hash.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

namespace pgk {

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string RandomHex(size_t bytes) {
  std::string buf(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(buf.data()), static_cast<int>(buf.size()));
  return HexEncode(buf);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

uint64_t Fnv1a64(std::string_view data) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

namespace {

const std::array<uint32_t, 256>& CrcTable() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

}  // namespace

int32_t FlywayChecksum(std::string_view data) {
  if (data.size() >= 3 && data.substr(0, 3) == "\xEF\xBB\xBF") data.remove_prefix(3);
  uint32_t crc = 0xFFFFFFFFu;
  const auto& table = CrcTable();
  for (size_t i = 0; i < data.size(); ++i) {
    char c = data[i];
    if (c == '\n' || c == '\r') continue;  // lines are hashed without their terminators
    crc = table[(crc ^ static_cast<unsigned char>(c)) & 0xFF] ^ (crc >> 8);
  }
  return static_cast<int32_t>(crc ^ 0xFFFFFFFFu);
}

}  // namespace pgk
