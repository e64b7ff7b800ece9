// lz4 through the frame API (LZ4F_*), streaming both ways.
#include <lz4frame.h>
#include <lz4hc.h>

#include <algorithm>
#include <vector>

#include "pipeline/compress_internal.h"

namespace pgk::pipeline::internal {
namespace {

// Input is fed to LZ4F in pieces of one block, so the output buffer can be sized by
// LZ4F_compressBound for one block rather than for whatever the caller wrote.
constexpr size_t kLz4Piece = 64 << 10;

Status Lz4Error(const std::string& what, size_t code) {
  return Status::Internal(what + ": " + LZ4F_getErrorName(code));
}

class Lz4Sink final : public Sink {
 public:
  Lz4Sink(LZ4F_cctx* cctx, const LZ4F_preferences_t& prefs, std::unique_ptr<Sink> next)
      : cctx_(cctx),
        prefs_(prefs),
        next_(std::move(next)),
        out_(std::max<size_t>(LZ4F_compressBound(kLz4Piece, &prefs), LZ4F_HEADER_SIZE_MAX)) {}
  ~Lz4Sink() override { LZ4F_freeCompressionContext(cctx_); }

  Status Write(std::string_view data) override {
    PGK_RETURN_IF_ERROR(Begin());
    while (!data.empty()) {
      size_t piece = std::min(data.size(), kLz4Piece);
      size_t n = LZ4F_compressUpdate(cctx_, out_.data(), out_.size(), data.data(), piece, nullptr);
      if (LZ4F_isError(n)) return Lz4Error("lz4 compression failed", n);
      PGK_RETURN_IF_ERROR(Emit(n));
      data.remove_prefix(piece);
    }
    return Status::Ok();
  }

  Status Finish() override {
    PGK_RETURN_IF_ERROR(Begin());
    size_t n = LZ4F_compressEnd(cctx_, out_.data(), out_.size(), nullptr);
    if (LZ4F_isError(n)) return Lz4Error("lz4 compression failed", n);
    PGK_RETURN_IF_ERROR(Emit(n));
    return next_->Finish();
  }

 private:
  // The frame header goes out with the first data (or at Finish for an empty stream), so
  // building a pipeline performs no I/O.
  Status Begin() {
    if (begun_) return Status::Ok();
    begun_ = true;
    size_t n = LZ4F_compressBegin(cctx_, out_.data(), out_.size(), &prefs_);
    if (LZ4F_isError(n)) return Lz4Error("lz4 compression failed", n);
    return Emit(n);
  }

  Status Emit(size_t n) {
    if (n == 0) return Status::Ok();
    return next_->Write(std::string_view(out_.data(), n));
  }

  LZ4F_cctx* cctx_;
  LZ4F_preferences_t prefs_;
  std::unique_ptr<Sink> next_;
  std::vector<char> out_;
  bool begun_ = false;
};

class Lz4Reader final : public DecompressingReader {
 public:
  Lz4Reader(LZ4F_dctx* dctx, std::string name, std::unique_ptr<storage::Reader> upstream)
      : DecompressingReader("lz4", std::move(name), std::move(upstream), kLz4Piece), dctx_(dctx) {}
  ~Lz4Reader() override { LZ4F_freeDecompressionContext(dctx_); }

 protected:
  Result<Step> Decode(std::string_view in, char* out, size_t n) override {
    size_t dst = n;
    size_t src = in.size();
    size_t r = LZ4F_decompress(dctx_, out, &dst, in.data(), &src, nullptr);
    if (LZ4F_isError(r)) return Status::Malformed(LZ4F_getErrorName(r));
    return Step{.consumed = src, .produced = dst, .frame_done = r == 0};
  }

 private:
  LZ4F_dctx* dctx_;
};

}  // namespace

Result<std::unique_ptr<Sink>> NewLz4Sink(int level, std::unique_ptr<Sink> next) {
  if (level < 0 || level > LZ4HC_CLEVEL_MAX) {
    return Status::InvalidArgument("lz4 compression level " + std::to_string(level) + " is out of range",
                                   "use a level from 0 (fast, the default) to " + std::to_string(LZ4HC_CLEVEL_MAX));
  }
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockLinked;
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  prefs.compressionLevel = level;
  LZ4F_cctx* cctx = nullptr;
  size_t r = LZ4F_createCompressionContext(&cctx, LZ4F_VERSION);
  if (LZ4F_isError(r)) return Lz4Error("lz4: cannot create a compression context", r);
  return std::unique_ptr<Sink>(std::make_unique<Lz4Sink>(cctx, prefs, std::move(next)));
}

Result<std::unique_ptr<storage::Reader>> NewLz4Reader(std::string name, std::unique_ptr<storage::Reader> upstream) {
  LZ4F_dctx* dctx = nullptr;
  size_t r = LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION);
  if (LZ4F_isError(r)) return Lz4Error("lz4: cannot create a decompression context", r);
  return std::unique_ptr<storage::Reader>(std::make_unique<Lz4Reader>(dctx, std::move(name), std::move(upstream)));
}

}  // namespace pgk::pipeline::internal
