// Encryption keys. A repository has a key-encryption key (KEK) from the environment, a
// key file or a passphrase; each backup has its own random data key, stored wrapped by the
// KEK, so changing the KEK (`repo rekey`) rewraps a few keys instead of rewriting data.
//
// Key text (environment variable or key file): 64 hex characters, or standard base64 of
// 32 bytes (44 characters with padding, 43 without); surrounding whitespace is ignored.
//
// Passphrase: scrypt (RFC 7914) via OpenSSL EVP_PBE_scrypt with N=2^15, r=8, p=1 by
// default, a 16-byte random salt kept in the repository's configuration, 32-byte output.
//
// Wrapped key (text): base64( nonce[12] | ciphertext[32] | tag[16] ), 80 characters, where
// ciphertext and tag are AES-256-GCM of the data key under the KEK with the random nonce
// and the 20 ASCII bytes "pgkeeper key wrap v1" as additional authenticated data.
//
// Key material never appears in messages. Key zeroes its bytes when destroyed.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pgk::pipeline {

struct Key {
  ~Key();  // OPENSSL_cleanse
  std::array<uint8_t, 32> bytes{};
  bool operator==(const Key&) const = default;
};

inline constexpr char kKeyEnvVar[] = "PGKEEPER_ENCRYPTION_KEY";
// The one message for every failure to decrypt (wrong key, altered or truncated data,
// broken framing): telling them apart would tell an attacker which change got furthest.
inline constexpr char kDecryptionFailed[] = "wrong encryption key or corrupted backup";

// Malformed kDecryptionFailed, prefixed with "<name>: " when `name` is not empty, with a
// hint on what to check.
Status DecryptionFailed(const std::string& name);
inline constexpr size_t kSaltSize = 16;

// Parses key text; `origin` ("PGKEEPER_ENCRYPTION_KEY", "key file /x") names the source
// in the InvalidArgument error.
Result<Key> ParseKey(std::string_view text, std::string_view origin);

// Reads a key file. Refused (exit 2, with a chmod 600 hint) when group or others have any
// access to it; NotFound when it does not exist.
Result<Key> KeyFromFile(const std::string& path);

// The key from PGKEEPER_ENCRYPTION_KEY when it is set and not empty (an override for one
// command), else from `key_file` when not empty, else a Config error.
Result<Key> KeyFromEnvOrFile(const std::string& key_file);

struct KdfParams {
  uint64_t n = uint64_t{1} << 15;  // CPU/memory cost, a power of two (memory: 128 * r * n bytes)
  uint64_t r = 8;
  uint64_t p = 1;
};

// scrypt. The salt must be at least kSaltSize bytes; store it with the repository (it is
// not secret) and use RandomSalt() for a new one. InvalidArgument for an empty passphrase,
// a short salt or parameters needing more than 1 GiB.
Result<Key> KeyFromPassphrase(std::string_view passphrase, std::span<const uint8_t> salt, const KdfParams& params = {});
std::array<uint8_t, kSaltSize> RandomSalt();

// A new key from OpenSSL's CSPRNG (aborts if the generator fails: nothing safe to do).
Key RandomKey();
std::string WrapKey(const Key& kek, const Key& data_key);
// Malformed "wrong encryption key or corrupted backup" for a wrong KEK or altered text.
Result<Key> UnwrapKey(const Key& kek, const std::string& wrapped);

// A public name for a key: the first 8 bytes, in hex, of HMAC-SHA256(key, "pgkeeper key
// id v1"). Manifests and the repository config record which key wrapped what by this id;
// it reveals nothing about the key (a PRF output), and the same key always has the same id.
std::string KeyId(const Key& key);

}  // namespace pgk::pipeline
