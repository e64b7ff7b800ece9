// SHA-256 and byte counting on both sides of the pipeline. The write side records two
// digests per file (of the original bytes and of the stored bytes); the read side checks
// them, so a restore or a verify notices any change to the repository's files.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "pipeline/sink.h"
#include "storage/storage.h"

namespace pgk::pipeline {

// Incremental SHA-256 (OpenSSL EVP).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  // Lowercase hex digest; the object must not be updated afterwards.
  std::string FinishHex();

 private:
  EVP_MD_CTX* ctx_;
};

// Passes everything through to `next`, hashing and counting it. sha256_hex() is set once
// Finish() has succeeded; bytes() is current at any time.
class HashingSink final : public Sink {
 public:
  explicit HashingSink(std::unique_ptr<Sink> next) : next_(std::move(next)) {}
  Status Write(std::string_view data) override;
  Status Finish() override;

  uint64_t bytes() const { return bytes_; }
  const std::string& sha256_hex() const { return sha256_hex_; }

 private:
  std::unique_ptr<Sink> next_;
  Sha256 sha_;
  uint64_t bytes_ = 0;
  std::string sha256_hex_;
};

struct HashExpectation {
  uint64_t size = 0;
  std::string sha256;  // lowercase hex
};

// Passes reads through, hashing and counting them. With an expectation, it returns
// Malformed "checksum mismatch in <name>: the backup is corrupted" instead of end of file
// when the size or the digest differs (and as soon as the size is exceeded, without
// returning the excess). Errors are sticky: every later Read() returns the same error.
// Bytes returned before end of file are not verified yet: a caller may trust the data only
// once Read() has returned 0.
class HashingReader final : public storage::Reader {
 public:
  HashingReader(std::unique_ptr<storage::Reader> upstream, std::string name,
                std::optional<HashExpectation> expected = std::nullopt)
      : upstream_(std::move(upstream)), name_(std::move(name)), expected_(std::move(expected)) {}
  Result<size_t> Read(char* buf, size_t n) override;

  uint64_t bytes() const { return bytes_; }
  // Set once Read() has returned 0.
  const std::string& sha256_hex() const { return sha256_hex_; }

 private:
  Status Fail(Status status);

  std::unique_ptr<storage::Reader> upstream_;
  std::string name_;
  std::optional<HashExpectation> expected_;
  Sha256 sha_;
  uint64_t bytes_ = 0;
  std::string sha256_hex_;
  bool eof_ = false;
  Status error_;
};

// The error both hashing stages and the read pipeline use for a mismatch.
Status ChecksumMismatch(const std::string& name);

}  // namespace pgk::pipeline
