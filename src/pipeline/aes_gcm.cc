#include "pipeline/aes_gcm.h"

#include <openssl/crypto.h>

#include <climits>

namespace pgk::pipeline {

AesGcm::AesGcm(const Key& key, Mode mode) : ctx_(EVP_CIPHER_CTX_new()), enc_(mode == Mode::kSeal ? 1 : 0) {
  ready_ = ctx_ != nullptr &&
           EVP_CipherInit_ex(ctx_, EVP_aes_256_gcm(), nullptr, key.bytes.data(), nullptr, enc_) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_IVLEN, kGcmNonceSize, nullptr) == 1;
}

AesGcm::~AesGcm() { EVP_CIPHER_CTX_free(ctx_); }  // cleanses the key schedule

bool AesGcm::Run(std::span<const uint8_t> nonce, std::span<const uint8_t> aad, std::span<uint8_t> data) {
  if (!ready_ || nonce.size() != kGcmNonceSize || aad.size() > INT_MAX || data.size() > INT_MAX) return false;
  int len = 0;
  if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, nonce.data(), enc_) != 1) return false;
  if (!aad.empty() && EVP_CipherUpdate(ctx_, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return false;
  }
  // GCM is a stream mode: in-place is allowed and output length equals input length.
  if (!data.empty() && EVP_CipherUpdate(ctx_, data.data(), &len, data.data(), static_cast<int>(data.size())) != 1) {
    return false;
  }
  return true;
}

Status AesGcm::Seal(std::span<const uint8_t> nonce, std::span<const uint8_t> aad, std::span<uint8_t> data,
                    uint8_t* tag) {
  uint8_t unused[kGcmTagSize];  // GCM's final step writes no data; OpenSSL still wants a buffer
  int len = 0;
  if (!Run(nonce, aad, data) || EVP_CipherFinal_ex(ctx_, unused, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, tag) != 1) {
    return Status::Internal("aes-256-gcm encryption failed in openssl");
  }
  return Status::Ok();
}

bool AesGcm::Open(std::span<const uint8_t> nonce, std::span<const uint8_t> aad, std::span<uint8_t> data,
                  const uint8_t* tag) {
  uint8_t unused[kGcmTagSize];
  int len = 0;
  bool ok = Run(nonce, aad, data) &&
            EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, kGcmTagSize, const_cast<uint8_t*>(tag)) == 1 &&
            EVP_CipherFinal_ex(ctx_, unused, &len) == 1;
  if (!ok && !data.empty()) OPENSSL_cleanse(data.data(), data.size());
  return ok;
}

}  // namespace pgk::pipeline
