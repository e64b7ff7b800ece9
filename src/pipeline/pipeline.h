// The backup pipeline: how every file pgkeeper stores in a repository is turned into
// stored bytes and back.
//
// Write side (push; see sink.h), from the producer to storage:
//   HashingSink (original) -> compression (compress.h) -> encryption (encrypt.h, when a
//   key is given) -> HashingSink (stored) -> WriterSink (storage::Writer)
// Read side (pull), from storage to the consumer:
//   storage::Reader -> HashingReader (stored) -> decryption -> decompression ->
//   HashingReader (original)
//
// Stored file = encrypt(compress(original)), each layer optional:
//   compression: one zstd frame, one lz4 frame, or the bytes themselves (compress.h);
//   encryption:  the chunked AES-256-GCM format of encrypt.h, or nothing.
// There is no pgkeeper header around them: the manifest (FileStats) records which layers
// a file has, its sizes and SHA-256 digests (lowercase hex) of the original and of the
// stored bytes. With both layers, a file starts with "PGKENC1\0"; a zstd file without
// encryption starts with 28 B5 2F FD, an lz4 one with 04 22 4D 18.
//
// Verification on read: the stored digest and size are checked when the stored stream
// ends (a size overrun fails at once), the original ones when the decoded stream ends;
// either mismatch is Malformed "checksum mismatch in <name>: the backup is corrupted"
// returned instead of end of file. Encrypted data is also authenticated chunk by chunk
// before it is handed out; unencrypted data is handed out as it is decoded, so a caller
// may trust what it read only once Read() has returned 0 (restore writes to a temporary
// file and renames it then).
//
// Memory is bounded whatever the file's size: one chunk per encryption stage, one block
// or window per compression stage (see compress.h), fixed buffers elsewhere.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "pipeline/compress.h"
#include "pipeline/encrypt.h"
#include "pipeline/hashing.h"
#include "pipeline/key.h"
#include "pipeline/sink.h"
#include "storage/storage.h"

namespace pgk::pipeline {

enum class Cipher { kNone, kAes256Gcm };

// "none", "aes-256-gcm": the names manifests use.
std::string_view CipherName(Cipher cipher);
Result<Cipher> ParseCipher(std::string_view name);

struct PipelineOptions {
  std::string name;  // the file's repository path, for messages
  // Write side only; the read side takes the layers from FileStats.
  Compression compression = Compression::kZstd;
  int compression_level = 0;    // 0: the algorithm's default (see CompressionOptions)
  int compression_threads = 0;  // zstd worker threads; 0: compress in the calling thread
  uint32_t chunk_size = kDefaultChunkSize;
  // Not null: encrypt (write side) or decrypt (read side) with this key, which must
  // outlive the call that builds the pipeline (stages keep only a key schedule).
  const Key* key = nullptr;
};

// What the manifest records about a stored file.
struct FileStats {
  uint64_t original_size = 0;
  std::string original_sha256;
  uint64_t stored_size = 0;
  std::string stored_sha256;
  Compression compression = Compression::kNone;
  Cipher cipher = Cipher::kNone;
};

// The write chain ending in `writer` (which the caller owns and which must outlive the
// sink). `stats`, when not null, gets compression and cipher at once and sizes and
// digests when Finish() succeeds; Finish() closes `writer`. InvalidArgument for options
// out of range.
Result<std::unique_ptr<Sink>> BuildWritePipeline(storage::Writer& writer, const PipelineOptions& options,
                                                 FileStats* stats);

// The read chain over `stored`, checking it against `expected` (layers, sizes, digests);
// see the top of this file for what is checked when. InvalidArgument when `expected` has
// no digests, or the file is encrypted and no key is given.
Result<std::unique_ptr<storage::Reader>> BuildReadPipeline(std::unique_ptr<storage::Reader> stored,
                                                           const PipelineOptions& options, const FileStats& expected);

// Reads `reader` to the end, discarding the data: with a read pipeline, checks a stored
// file completely while keeping nothing.
Status Verify(storage::Reader& reader);

}  // namespace pgk::pipeline
