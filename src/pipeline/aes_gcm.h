// AES-256-GCM over OpenSSL EVP with one context per key: the key schedule is computed once
// and each message only sets a new nonce. Internal to the pipeline (encrypt.cc, key.cc).
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <span>

#include "common/status.h"
#include "pipeline/key.h"

namespace pgk::pipeline {

inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;

class AesGcm {
 public:
  enum class Mode { kSeal, kOpen };
  AesGcm(const Key& key, Mode mode);
  ~AesGcm();
  AesGcm(const AesGcm&) = delete;
  AesGcm& operator=(const AesGcm&) = delete;

  // Encrypts `data` in place and writes the 16-byte tag. Internal on an OpenSSL failure.
  Status Seal(std::span<const uint8_t> nonce, std::span<const uint8_t> aad, std::span<uint8_t> data, uint8_t* tag);
  // Decrypts `data` in place and checks the tag; false (and `data` zeroed) when the
  // message is not authentic, so unauthenticated plaintext cannot leak to a caller.
  bool Open(std::span<const uint8_t> nonce, std::span<const uint8_t> aad, std::span<uint8_t> data, const uint8_t* tag);

 private:
  bool Run(std::span<const uint8_t> nonce, std::span<const uint8_t> aad, std::span<uint8_t> data);

  EVP_CIPHER_CTX* ctx_;
  int enc_;
  bool ready_ = false;
};

}  // namespace pgk::pipeline
