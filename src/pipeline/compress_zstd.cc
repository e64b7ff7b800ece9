// zstd through the streaming API (ZSTD_compressStream2 / ZSTD_decompressStream).
#include <zstd.h>

#include <vector>

#include "pipeline/compress_internal.h"

namespace pgk::pipeline::internal {
namespace {

// Levels above 19 ("ultra") use windows up to 128 MiB that every restore would then have
// to allocate; 19 keeps the decoder's window at 8 MiB.
constexpr int kMaxZstdLevel = 19;
constexpr int kMaxZstdThreads = 256;

Status ZstdError(const std::string& what, size_t code) {
  return Status::Internal(what + ": " + ZSTD_getErrorName(code));
}

class ZstdSink final : public Sink {
 public:
  ZstdSink(ZSTD_CCtx* cctx, std::unique_ptr<Sink> next)
      : cctx_(cctx), next_(std::move(next)), out_(ZSTD_CStreamOutSize()) {}
  ~ZstdSink() override { ZSTD_freeCCtx(cctx_); }

  Status Write(std::string_view data) override {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    while (in.pos < in.size) PGK_RETURN_IF_ERROR(Step(in, ZSTD_e_continue).status());
    return Status::Ok();
  }

  Status Finish() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    while (true) {
      PGK_ASSIGN_OR_RETURN(size_t remaining, Step(in, ZSTD_e_end));
      if (remaining == 0) break;
    }
    return next_->Finish();
  }

 private:
  // One call to the compressor; what it produced goes downstream at once, so nothing
  // beyond zstd's own buffers and one output block is ever held.
  Result<size_t> Step(ZSTD_inBuffer& in, ZSTD_EndDirective directive) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    size_t r = ZSTD_compressStream2(cctx_, &out, &in, directive);
    if (ZSTD_isError(r)) return ZstdError("zstd compression failed", r);
    if (out.pos > 0) PGK_RETURN_IF_ERROR(next_->Write(std::string_view(out_.data(), out.pos)));
    return r;
  }

  ZSTD_CCtx* cctx_;
  std::unique_ptr<Sink> next_;
  std::vector<char> out_;
};

class ZstdReader final : public DecompressingReader {
 public:
  ZstdReader(ZSTD_DCtx* dctx, std::string name, std::unique_ptr<storage::Reader> upstream)
      : DecompressingReader("zstd", std::move(name), std::move(upstream), ZSTD_DStreamInSize()), dctx_(dctx) {}
  ~ZstdReader() override { ZSTD_freeDCtx(dctx_); }

 protected:
  Result<Step> Decode(std::string_view in, char* out, size_t n) override {
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    ZSTD_outBuffer output{out, n, 0};
    size_t r = ZSTD_decompressStream(dctx_, &output, &input);
    if (ZSTD_isError(r)) return Status::Malformed(ZSTD_getErrorName(r));
    return Step{.consumed = input.pos, .produced = output.pos, .frame_done = r == 0};
  }

 private:
  ZSTD_DCtx* dctx_;
};

}  // namespace

Result<std::unique_ptr<Sink>> NewZstdSink(int level, int threads, std::unique_ptr<Sink> next) {
  if (level < ZSTD_minCLevel() || level > kMaxZstdLevel) {
    return Status::InvalidArgument("zstd compression level " + std::to_string(level) + " is out of range",
                                   "use a level from " + std::to_string(ZSTD_minCLevel()) + " to " +
                                       std::to_string(kMaxZstdLevel) + " (0 for the default)");
  }
  if (threads < 0 || threads > kMaxZstdThreads) {
    return Status::InvalidArgument("zstd thread count " + std::to_string(threads) + " is out of range",
                                   "use 0 (compress in the calling thread) to " + std::to_string(kMaxZstdThreads));
  }
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  if (cctx == nullptr) return Status::Internal("zstd: out of memory");
  auto sink = std::make_unique<ZstdSink>(cctx, std::move(next));  // owns cctx from here on
  size_t r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  if (ZSTD_isError(r)) return ZstdError("zstd: cannot set the compression level", r);
  // The frame checksum costs little and lets `zstd -t` check an unencrypted file alone.
  r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError(r)) return ZstdError("zstd: cannot enable the frame checksum", r);
  if (threads > 0) {
    r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, threads);
    if (ZSTD_isError(r)) {
      return Status::InvalidArgument(std::string("zstd cannot use worker threads: ") + ZSTD_getErrorName(r),
                                     "this libzstd was built without multithreading: set the thread count to 0");
    }
  }
  return std::unique_ptr<Sink>(std::move(sink));
}

Result<std::unique_ptr<storage::Reader>> NewZstdReader(std::string name, std::unique_ptr<storage::Reader> upstream) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (dctx == nullptr) return Status::Internal("zstd: out of memory");
  return std::unique_ptr<storage::Reader>(std::make_unique<ZstdReader>(dctx, std::move(name), std::move(upstream)));
}

}  // namespace pgk::pipeline::internal
