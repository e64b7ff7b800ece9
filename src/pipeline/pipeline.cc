#include "pipeline/pipeline.h"

#include <vector>

namespace pgk::pipeline {
namespace {

// The head of a write chain, which fills FileStats from the two hashing stages inside
// the chain once everything has reached the writer.
class WritePipeline final : public Sink {
 public:
  WritePipeline(std::unique_ptr<HashingSink> head, const HashingSink* stored, FileStats* stats)
      : original_(head.get()), head_(std::move(head)), stored_(stored), stats_(stats) {}

  Status Write(std::string_view data) override { return head_->Write(data); }

  Status Finish() override {
    PGK_RETURN_IF_ERROR(head_->Finish());
    if (stats_ != nullptr) {
      stats_->original_size = original_->bytes();
      stats_->original_sha256 = original_->sha256_hex();
      stats_->stored_size = stored_->bytes();
      stats_->stored_sha256 = stored_->sha256_hex();
    }
    return Status::Ok();
  }

 private:
  const HashingSink* original_;
  std::unique_ptr<Sink> head_;  // owns every stage, the stored HashingSink included
  const HashingSink* stored_;
  FileStats* stats_;
};

bool IsSha256Hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string_view CipherName(Cipher cipher) { return cipher == Cipher::kAes256Gcm ? "aes-256-gcm" : "none"; }

Result<Cipher> ParseCipher(std::string_view name) {
  for (Cipher c : {Cipher::kNone, Cipher::kAes256Gcm}) {
    if (name == CipherName(c)) return c;
  }
  return Status::InvalidArgument("unknown cipher \"" + std::string(name) + "\"", "use aes-256-gcm or none");
}

Result<std::unique_ptr<Sink>> BuildWritePipeline(storage::Writer& writer, const PipelineOptions& options,
                                                 FileStats* stats) {
  auto stored = std::make_unique<HashingSink>(std::make_unique<WriterSink>(writer));
  const HashingSink* stored_hash = stored.get();
  std::unique_ptr<Sink> chain = std::move(stored);
  if (options.key != nullptr) {
    PGK_ASSIGN_OR_RETURN(chain, NewEncryptingSink(*options.key, options.chunk_size, std::move(chain)));
  }
  PGK_ASSIGN_OR_RETURN(chain, NewCompressingSink({.algorithm = options.compression,
                                                  .level = options.compression_level,
                                                  .threads = options.compression_threads},
                                                 std::move(chain)));
  if (stats != nullptr) {
    *stats = FileStats{.compression = options.compression,
                       .cipher = options.key != nullptr ? Cipher::kAes256Gcm : Cipher::kNone};
  }
  return std::unique_ptr<Sink>(
      std::make_unique<WritePipeline>(std::make_unique<HashingSink>(std::move(chain)), stored_hash, stats));
}

Result<std::unique_ptr<storage::Reader>> BuildReadPipeline(std::unique_ptr<storage::Reader> stored,
                                                           const PipelineOptions& options, const FileStats& expected) {
  // Reading without digests would silently skip verification; a caller that has none has
  // a manifest problem to report instead.
  if (!IsSha256Hex(expected.original_sha256) || !IsSha256Hex(expected.stored_sha256)) {
    return Status::InvalidArgument("no valid sha-256 digest recorded for " + options.name);
  }
  if (expected.cipher == Cipher::kAes256Gcm && options.key == nullptr) {
    return Status::InvalidArgument(options.name + " is encrypted and no encryption key was given",
                                   std::string("set ") + kKeyEnvVar + " or the repository's key file");
  }
  std::unique_ptr<storage::Reader> reader = std::make_unique<HashingReader>(
      std::move(stored), options.name, HashExpectation{expected.stored_size, expected.stored_sha256});
  if (expected.cipher == Cipher::kAes256Gcm)
    reader = NewDecryptingReader(*options.key, options.name, std::move(reader));
  PGK_ASSIGN_OR_RETURN(reader, NewDecompressingReader(expected.compression, options.name, std::move(reader)));
  return std::unique_ptr<storage::Reader>(std::make_unique<HashingReader>(
      std::move(reader), options.name, HashExpectation{expected.original_size, expected.original_sha256}));
}

Status Verify(storage::Reader& reader) {
  std::vector<char> buf(64 << 10);
  while (true) {
    PGK_ASSIGN_OR_RETURN(size_t n, reader.Read(buf.data(), buf.size()));
    if (n == 0) return Status::Ok();
  }
}

}  // namespace pgk::pipeline
