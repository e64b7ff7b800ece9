// Compression stages. The stored bytes are exactly one standard frame of the chosen
// format, so `zstd -d` or `lz4 -d` can read an unencrypted file by hand:
//   zstd: one zstd frame (RFC 8878) with the content checksum flag set (XXH64);
//   lz4:  one LZ4 frame (the lz4 frame format) with 64 KiB linked blocks and the content
//         checksum flag set (XXH32);
//   none: the bytes themselves.
// Decoding rejects a corrupt frame, a frame that ends early (truncated file) and any byte
// after the end of the frame (appended data) with Malformed.
//
// Memory: the zstd encoder holds its window and, with worker threads, one job per worker
// (tens of MiB at most for levels <= 19, independent of the input's size); the decoder
// holds one window (8 MiB at most for files pgkeeper wrote, 128 MiB at most for any
// input). lz4 holds one 64 KiB block each way (the decoder up to 4 MiB, the largest block
// a frame header may declare).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "pipeline/sink.h"
#include "storage/storage.h"

namespace pgk::pipeline {

enum class Compression { kNone, kZstd, kLz4 };

// "none", "zstd", "lz4": the names configuration files and manifests use.
std::string_view CompressionName(Compression compression);
// InvalidArgument for an unknown name, listing the known ones.
Result<Compression> ParseCompression(std::string_view name);

struct CompressionOptions {
  Compression algorithm = Compression::kZstd;
  // 0 is the algorithm's default. zstd: ZSTD_minCLevel()..19 (higher levels need windows
  // too large for bounded restores); lz4: 0..12 (3 and up use LZ4-HC).
  int level = 0;
  // zstd only: worker threads compressing in parallel (ZSTD_c_nbWorkers); 0 compresses in
  // the calling thread. The output is a standard frame either way.
  int threads = 0;
};

// A sink that compresses into `next`; for kNone, `next` itself. InvalidArgument for a
// level or thread count out of range.
Result<std::unique_ptr<Sink>> NewCompressingSink(const CompressionOptions& options, std::unique_ptr<Sink> next);

// A reader that decompresses `upstream`; for kNone, `upstream` itself. `name` (the file's
// repository path) goes into error messages. Errors are sticky.
Result<std::unique_ptr<storage::Reader>> NewDecompressingReader(Compression algorithm, std::string name,
                                                                std::unique_ptr<storage::Reader> upstream);

}  // namespace pgk::pipeline
