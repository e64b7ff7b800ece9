#include "pipeline/hashing.h"

#include <cstdlib>

#include "common/hash.h"

namespace pgk::pipeline {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  // Allocation failure of a few hundred bytes, or SHA-256 missing from libcrypto, leaves
  // nothing sensible to return: no digest could ever be trusted afterwards.
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Update(std::string_view data) {
  if (!data.empty()) EVP_DigestUpdate(ctx_, data.data(), data.size());
}

std::string Sha256::FinishHex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, digest, &len);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

Status ChecksumMismatch(const std::string& name) {
  return Status::Malformed("checksum mismatch in " + name + ": the backup is corrupted",
                           "the file changed after the backup wrote it: restore from another backup and check the "
                           "repository's storage");
}

Status HashingSink::Write(std::string_view data) {
  sha_.Update(data);
  bytes_ += data.size();
  return next_->Write(data);
}

Status HashingSink::Finish() {
  sha256_hex_ = sha_.FinishHex();
  return next_->Finish();
}

Status HashingReader::Fail(Status status) {
  error_ = std::move(status);
  return error_;
}

Result<size_t> HashingReader::Read(char* buf, size_t n) {
  if (!error_.ok()) return error_;
  if (eof_ || n == 0) return size_t{0};
  auto got = upstream_->Read(buf, n);
  if (!got.ok()) return Fail(got.status());
  if (*got > 0) {
    bytes_ += *got;
    // Failing as soon as the file is longer than recorded keeps a corrupted (or
    // concatenated) file from streaming arbitrarily far before it is rejected.
    if (expected_ && bytes_ > expected_->size) return Fail(ChecksumMismatch(name_));
    sha_.Update(std::string_view(buf, *got));
    return *got;
  }
  eof_ = true;
  sha256_hex_ = sha_.FinishHex();
  if (expected_ && (bytes_ != expected_->size || sha256_hex_ != expected_->sha256)) {
    return Fail(ChecksumMismatch(name_));
  }
  return size_t{0};
}

}  // namespace pgk::pipeline
