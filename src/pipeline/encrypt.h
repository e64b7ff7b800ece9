// Encryption stages: AES-256-GCM in independently authenticated chunks, so a file of any
// size streams through bounded memory, and a reader never hands out a byte that has not
// been authenticated.
//
// Stored format (all integers little-endian unless noted):
//
//   header, 24 bytes:
//     0   8  magic "PGKENC1\0" (50 47 4B 45 4E 43 31 00)
//     8  12  base nonce, random per file
//     20  4  chunk size C: plaintext bytes per chunk, u32, 16 <= C <= 16 MiB
//   then chunks i = 0, 1, ..., n-1 (n >= 1), each:
//     0   4  L: ciphertext length, u32 (GCM: equal to the plaintext length)
//     4   L  ciphertext
//     4+L 16 GCM tag
//   and nothing after the last chunk's tag.
//
//   Every chunk but the last has L = C; the last has 1 <= L <= C, or L = 0 when the whole
//   file is empty (then it is the only chunk). A file whose length is a multiple of C ends
//   with a full chunk, not an empty one.
//   nonce(i) = base nonce with its last 8 bytes XORed with i as a big-endian u64.
//   AAD(i)   = the 24 header bytes | i as u64 | final flag u8 (1 for the last chunk, else
//              0), 33 bytes.
//
// Why each piece: the index in nonce and AAD makes reordered, duplicated or dropped chunks
// fail authentication; the final flag makes truncation at a chunk boundary fail (the new
// last chunk was sealed as not final) and so does appending (the old last chunk was sealed
// as final). The header is in the AAD so that no byte of the file, the chunk size
// included, can change unnoticed. A reader learns whether a chunk is the last by looking
// for a following length field, before it authenticates the chunk.
//
// Nonces: 96 random bits per file and a counter per chunk. With per-backup data keys (see
// key.h) the number of files under one key stays far below GCM's random-nonce limit.
//
// Any failure to decrypt (wrong key, altered, truncated or extended data, bad framing) is
// Malformed "<name>: wrong encryption key or corrupted backup"; errors from the stored
// stream's own reader (i/o, checksum) pass through unchanged.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "pipeline/key.h"
#include "pipeline/sink.h"
#include "storage/storage.h"

namespace pgk::pipeline {

inline constexpr std::string_view kEncryptionMagic{"PGKENC1\0", 8};
inline constexpr size_t kEncryptionHeaderSize = 24;
inline constexpr size_t kChunkOverhead = 4 + 16;  // length field and tag
inline constexpr uint32_t kDefaultChunkSize = 64 << 10;
inline constexpr uint32_t kMinChunkSize = 16;
inline constexpr uint32_t kMaxChunkSize = 16 << 20;

// Stored size of `plaintext_size` bytes encrypted with `chunk_size`.
uint64_t EncryptedSize(uint64_t plaintext_size, uint32_t chunk_size);

// A sink that encrypts into `next`; it holds at most one chunk. InvalidArgument for a chunk
// size outside [kMinChunkSize, kMaxChunkSize].
Result<std::unique_ptr<Sink>> NewEncryptingSink(const Key& key, uint32_t chunk_size, std::unique_ptr<Sink> next);

// A reader that decrypts `upstream`, holding at most one chunk (of the size the file's
// header gives). Errors are sticky. `name` (the file's repository path) prefixes errors.
std::unique_ptr<storage::Reader> NewDecryptingReader(const Key& key, std::string name,
                                                     std::unique_ptr<storage::Reader> upstream);

}  // namespace pgk::pipeline
