#include "pipeline/encrypt.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "pipeline/aes_gcm.h"

namespace pgk::pipeline {
namespace {

constexpr size_t kAadSize = kEncryptionHeaderSize + 8 + 1;

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t GetU32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// Per-chunk nonce and AAD, built from the file header as the format describes.
class ChunkParams {
 public:
  explicit ChunkParams(const uint8_t* header) { std::memcpy(aad_.data(), header, kEncryptionHeaderSize); }

  void Set(uint64_t index, bool final) {
    std::memcpy(nonce_.data(), aad_.data() + kEncryptionMagic.size(), kGcmNonceSize);
    for (int i = 0; i < 8; ++i) {
      nonce_[kGcmNonceSize - 1 - i] ^= static_cast<uint8_t>(index >> (8 * i));
      aad_[kEncryptionHeaderSize + i] = static_cast<uint8_t>(index >> (8 * i));
    }
    aad_[kAadSize - 1] = final ? 1 : 0;
  }
  std::span<const uint8_t> nonce() const { return nonce_; }
  std::span<const uint8_t> aad() const { return aad_; }

 private:
  std::array<uint8_t, kGcmNonceSize> nonce_{};
  std::array<uint8_t, kAadSize> aad_{};
};

class EncryptingSink final : public Sink {
 public:
  EncryptingSink(const Key& key, const uint8_t* header, uint32_t chunk_size, std::unique_ptr<Sink> next)
      : gcm_(key, AesGcm::Mode::kSeal), params_(header), chunk_size_(chunk_size), next_(std::move(next)) {
    std::memcpy(header_.data(), header, header_.size());
    frame_.resize(kChunkOverhead + chunk_size);
  }
  ~EncryptingSink() override { OPENSSL_cleanse(frame_.data(), frame_.size()); }

  Status Write(std::string_view data) override {
    while (!data.empty()) {
      // A full chunk goes out only when more data follows: until then it may be the last
      // one, which is sealed differently.
      if (filled_ == chunk_size_) PGK_RETURN_IF_ERROR(Seal(false));
      size_t take = std::min<size_t>(chunk_size_ - filled_, data.size());
      std::memcpy(frame_.data() + 4 + filled_, data.data(), take);
      filled_ += take;
      data.remove_prefix(take);
    }
    return Status::Ok();
  }

  Status Finish() override {
    PGK_RETURN_IF_ERROR(Seal(true));
    return next_->Finish();
  }

 private:
  Status Seal(bool final) {
    if (index_ == 0) {
      PGK_RETURN_IF_ERROR(
          next_->Write(std::string_view(reinterpret_cast<const char*>(header_.data()), header_.size())));
    }
    params_.Set(index_, final);
    PutU32(frame_.data(), static_cast<uint32_t>(filled_));
    PGK_RETURN_IF_ERROR(
        gcm_.Seal(params_.nonce(), params_.aad(), std::span(frame_.data() + 4, filled_), frame_.data() + 4 + filled_));
    PGK_RETURN_IF_ERROR(
        next_->Write(std::string_view(reinterpret_cast<const char*>(frame_.data()), kChunkOverhead + filled_)));
    ++index_;
    filled_ = 0;
    return Status::Ok();
  }

  AesGcm gcm_;
  ChunkParams params_;
  std::array<uint8_t, kEncryptionHeaderSize> header_{};
  uint32_t chunk_size_;
  std::unique_ptr<Sink> next_;
  std::vector<uint8_t> frame_;  // length field | plaintext, sealed in place | tag
  size_t filled_ = 0;
  uint64_t index_ = 0;
};

class DecryptingReader final : public storage::Reader {
 public:
  DecryptingReader(const Key& key, std::string name, std::unique_ptr<storage::Reader> upstream)
      : gcm_(key, AesGcm::Mode::kOpen), name_(std::move(name)), upstream_(std::move(upstream)) {}
  ~DecryptingReader() override { OPENSSL_cleanse(chunk_.data(), chunk_.size()); }

  Result<size_t> Read(char* buf, size_t n) override {
    if (!error_.ok()) return error_;
    if (n == 0) return size_t{0};
    while (out_pos_ == out_len_) {
      if (done_) return size_t{0};
      Status status = NextChunk();
      if (!status.ok()) {
        error_ = status;
        return error_;
      }
    }
    size_t take = std::min(n, out_len_ - out_pos_);
    std::memcpy(buf, chunk_.data() + out_pos_, take);
    out_pos_ += take;
    return take;
  }

 private:
  // Reads up to `n` bytes, fewer only at end of file.
  Result<size_t> ReadFull(uint8_t* p, size_t n) {
    size_t got = 0;
    while (got < n) {
      PGK_ASSIGN_OR_RETURN(size_t r, upstream_->Read(reinterpret_cast<char*>(p) + got, n - got));
      if (r == 0) break;
      got += r;
    }
    return got;
  }

  Status ReadHeader() {
    std::array<uint8_t, kEncryptionHeaderSize> header{};
    PGK_ASSIGN_OR_RETURN(size_t got, ReadFull(header.data(), header.size()));
    if (got != header.size() || std::memcmp(header.data(), kEncryptionMagic.data(), kEncryptionMagic.size()) != 0) {
      return DecryptionFailed(name_);
    }
    chunk_size_ = GetU32(header.data() + 20);
    if (chunk_size_ < kMinChunkSize || chunk_size_ > kMaxChunkSize) return DecryptionFailed(name_);
    params_.emplace(header.data());
    chunk_.resize(chunk_size_ + kGcmTagSize);
    return ReadLength();
  }

  // Reads the next length field into next_len_; at end of file, sets at_end_.
  Status ReadLength() {
    uint8_t field[4];
    PGK_ASSIGN_OR_RETURN(size_t got, ReadFull(field, sizeof(field)));
    if (got == 0) {
      at_end_ = true;
      return Status::Ok();
    }
    if (got != sizeof(field)) return DecryptionFailed(name_);
    next_len_ = GetU32(field);
    return Status::Ok();
  }

  Status NextChunk() {
    if (!params_) PGK_RETURN_IF_ERROR(ReadHeader());
    // A valid file ends right after a chunk sealed as final, which sets done_ first.
    if (at_end_) return DecryptionFailed(name_);
    size_t len = next_len_;
    if (len > chunk_size_) return DecryptionFailed(name_);
    PGK_ASSIGN_OR_RETURN(size_t got, ReadFull(chunk_.data(), len + kGcmTagSize));
    if (got != len + kGcmTagSize) return DecryptionFailed(name_);
    PGK_RETURN_IF_ERROR(ReadLength());
    bool final = at_end_;
    if ((!final && len != chunk_size_) || (final && len == 0 && index_ > 0)) return DecryptionFailed(name_);
    params_->Set(index_, final);
    // The whole chunk is authenticated before any of it is handed out.
    if (!gcm_.Open(params_->nonce(), params_->aad(), std::span(chunk_.data(), len), chunk_.data() + len)) {
      return DecryptionFailed(name_);
    }
    ++index_;
    out_pos_ = 0;
    out_len_ = len;
    done_ = final;
    return Status::Ok();
  }

  AesGcm gcm_;
  std::string name_;
  std::unique_ptr<storage::Reader> upstream_;
  std::optional<ChunkParams> params_;  // set once the header is read
  uint32_t chunk_size_ = 0;
  std::vector<uint8_t> chunk_;  // plaintext (decrypted in place) | tag
  size_t out_pos_ = 0;
  size_t out_len_ = 0;
  uint32_t next_len_ = 0;
  bool at_end_ = false;
  bool done_ = false;
  uint64_t index_ = 0;
  Status error_;
};

}  // namespace

uint64_t EncryptedSize(uint64_t plaintext_size, uint32_t chunk_size) {
  uint64_t chunks = plaintext_size == 0 ? 1 : (plaintext_size + chunk_size - 1) / chunk_size;
  return kEncryptionHeaderSize + chunks * kChunkOverhead + plaintext_size;
}

Result<std::unique_ptr<Sink>> NewEncryptingSink(const Key& key, uint32_t chunk_size, std::unique_ptr<Sink> next) {
  if (chunk_size < kMinChunkSize || chunk_size > kMaxChunkSize) {
    return Status::InvalidArgument(
        "encryption chunk size " + std::to_string(chunk_size) + " is out of range",
        "use " + std::to_string(kMinChunkSize) + " bytes to " + std::to_string(kMaxChunkSize >> 20) + " MiB");
  }
  std::array<uint8_t, kEncryptionHeaderSize> header{};
  std::memcpy(header.data(), kEncryptionMagic.data(), kEncryptionMagic.size());
  if (RAND_bytes(header.data() + kEncryptionMagic.size(), kGcmNonceSize) != 1) {
    return Status::Internal("the random number generator failed");
  }
  PutU32(header.data() + 20, chunk_size);
  return std::unique_ptr<Sink>(std::make_unique<EncryptingSink>(key, header.data(), chunk_size, std::move(next)));
}

std::unique_ptr<storage::Reader> NewDecryptingReader(const Key& key, std::string name,
                                                     std::unique_ptr<storage::Reader> upstream) {
  return std::make_unique<DecryptingReader>(key, std::move(name), std::move(upstream));
}

}  // namespace pgk::pipeline
