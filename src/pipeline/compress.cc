#include "pipeline/compress.h"

#include "pipeline/compress_internal.h"

namespace pgk::pipeline {

std::string_view CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "none";
    case Compression::kZstd:
      return "zstd";
    case Compression::kLz4:
      return "lz4";
  }
  return "none";
}

Result<Compression> ParseCompression(std::string_view name) {
  for (Compression c : {Compression::kNone, Compression::kZstd, Compression::kLz4}) {
    if (name == CompressionName(c)) return c;
  }
  return Status::InvalidArgument("unknown compression \"" + std::string(name) + "\"", "use one of: zstd, lz4, none");
}

Result<std::unique_ptr<Sink>> NewCompressingSink(const CompressionOptions& options, std::unique_ptr<Sink> next) {
  switch (options.algorithm) {
    case Compression::kNone:
      return next;
    case Compression::kZstd:
      return internal::NewZstdSink(options.level, options.threads, std::move(next));
    case Compression::kLz4:
      return internal::NewLz4Sink(options.level, std::move(next));
  }
  return Status::Internal("unknown compression algorithm");
}

Result<std::unique_ptr<storage::Reader>> NewDecompressingReader(Compression algorithm, std::string name,
                                                                std::unique_ptr<storage::Reader> upstream) {
  switch (algorithm) {
    case Compression::kNone:
      return upstream;
    case Compression::kZstd:
      return internal::NewZstdReader(std::move(name), std::move(upstream));
    case Compression::kLz4:
      return internal::NewLz4Reader(std::move(name), std::move(upstream));
  }
  return Status::Internal("unknown compression algorithm");
}

namespace internal {

DecompressingReader::DecompressingReader(std::string algorithm, std::string name,
                                         std::unique_ptr<storage::Reader> upstream, size_t input_buffer_size)
    : algorithm_(std::move(algorithm)),
      name_(std::move(name)),
      upstream_(std::move(upstream)),
      in_(input_buffer_size) {}

Status DecompressingReader::Fail(Status status) {
  error_ = std::move(status);
  return error_;
}

Status DecompressingReader::Corrupt(const std::string& detail) const {
  return Status::Malformed("corrupted " + algorithm_ + " data in " + name_ + ": " + detail,
                           "the file changed after the backup wrote it: restore from another backup and check the "
                           "repository's storage");
}

Result<size_t> DecompressingReader::Read(char* buf, size_t n) {
  if (!error_.ok()) return error_;
  if (n == 0) return size_t{0};
  while (true) {
    if (in_pos_ == in_len_ && !upstream_eof_) {
      auto got = upstream_->Read(in_.data(), in_.size());
      if (!got.ok()) return Fail(got.status());  // upstream's own error (i/o, checksum) as is
      in_pos_ = 0;
      in_len_ = *got;
      upstream_eof_ = *got == 0;
    }
    std::string_view pending(in_.data() + in_pos_, in_len_ - in_pos_);
    if (frame_done_) {
      // Reading on to the end of the stored stream is what lets the stages upstream check
      // their own end (hashes, sizes), and what catches bytes appended after the frame.
      if (!pending.empty()) return Fail(Corrupt("unexpected data after the end of the compressed stream"));
      if (upstream_eof_) return size_t{0};
      continue;
    }
    auto step = Decode(pending, buf, n);
    if (!step.ok()) return Fail(Corrupt(step.status().message()));
    in_pos_ += step->consumed;
    frame_done_ = step->frame_done;
    if (step->produced > 0) return step->produced;
    if (step->consumed == 0 && !frame_done_) {
      if (upstream_eof_ && in_pos_ == in_len_) return Fail(Corrupt("the compressed stream ends early"));
      // Both libraries always take input they are given into their own buffers; a call
      // that neither consumes nor produces would loop forever.
      if (in_pos_ < in_len_) return Fail(Corrupt("the decoder made no progress"));
    }
  }
}

}  // namespace internal
}  // namespace pgk::pipeline
