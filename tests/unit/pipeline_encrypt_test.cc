// The chunked AES-256-GCM format: layout, and that no change to a stored file (a flipped
// byte anywhere, truncation, extension, reordered chunks, another key) goes unnoticed or
// lets unauthenticated plaintext through.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/hash.h"
#include "pipeline/pipeline.h"
#include "pipeline/string_io.h"

namespace pgk::pipeline {
namespace {

constexpr uint32_t kChunk = 64;
const std::string kMessage = "base/1/2: wrong encryption key or corrupted backup";

Key TestKey(uint8_t seed) {
  Key key;
  for (size_t i = 0; i < key.bytes.size(); ++i) key.bytes[i] = static_cast<uint8_t>(seed * 31 + i);
  return key;
}

std::string Plaintext(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char>('a' + i % 26);
  return s;
}

std::string Encrypt(const Key& key, std::string_view data, uint32_t chunk_size = kChunk) {
  StringWriter writer;
  auto sink = NewEncryptingSink(key, chunk_size, std::make_unique<WriterSink>(writer));
  EXPECT_TRUE(sink.ok());
  EXPECT_TRUE((*sink)->Write(data).ok());
  EXPECT_TRUE((*sink)->Finish().ok());
  return writer.data();
}

// Reads byte by byte, so that everything the reader hands out before failing is seen.
struct Decrypted {
  std::string data;
  Status status;
};
Decrypted Decrypt(const Key& key, std::string stored) {
  auto reader = NewDecryptingReader(key, "base/1/2", std::make_unique<StringReader>(std::move(stored)));
  Decrypted out;
  char c;
  while (true) {
    auto n = reader->Read(&c, 1);
    if (!n.ok()) {
      out.status = n.status();
      return out;
    }
    if (*n == 0) return out;
    out.data += c;
  }
}

// Offset of chunk `i`'s length field in a file of full kChunk chunks.
size_t ChunkOffset(size_t i) { return kEncryptionHeaderSize + i * (kChunkOverhead + kChunk); }

TEST(PipelineEncrypt, Layout) {
  Key key = TestKey(1);
  std::string a = Encrypt(key, Plaintext(150));
  EXPECT_EQ(a.substr(0, 8), std::string("PGKENC1\0", 8));
  EXPECT_EQ(a.substr(20, 4), std::string("\x40\0\0\0", 4));  // chunk size 64, little-endian
  EXPECT_EQ(a.size(), 24u + 3 * 20 + 150);
  EXPECT_EQ(a.size(), EncryptedSize(150, kChunk));
  EXPECT_EQ(a.substr(ChunkOffset(0), 4), std::string("\x40\0\0\0", 4));
  EXPECT_EQ(a.substr(ChunkOffset(2), 4), std::string("\x16\0\0\0", 4));  // last chunk: 22 bytes
  EXPECT_EQ(a.find(Plaintext(150).substr(0, 16)), std::string::npos);
  // A fresh random nonce per file: the same plaintext never gives the same bytes.
  std::string b = Encrypt(key, Plaintext(150));
  EXPECT_NE(a.substr(8, 12), b.substr(8, 12));
  EXPECT_NE(a.substr(24), b.substr(24));
}

TEST(PipelineEncrypt, EmptyAndExactMultiples) {
  Key key = TestKey(2);
  std::string empty = Encrypt(key, "");
  EXPECT_EQ(empty.size(), kEncryptionHeaderSize + kChunkOverhead);
  Decrypted d = Decrypt(key, empty);
  EXPECT_TRUE(d.status.ok());
  EXPECT_EQ(d.data, "");
  // A multiple of the chunk size ends with a full final chunk, not an empty one.
  std::string two = Encrypt(key, Plaintext(2 * kChunk));
  EXPECT_EQ(two.size(), kEncryptionHeaderSize + 2 * (kChunkOverhead + kChunk));
  d = Decrypt(key, two);
  EXPECT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.data, Plaintext(2 * kChunk));
}

TEST(PipelineEncrypt, EveryFlippedByteIsDetectedAndNothingUnauthenticatedLeaks) {
  Key key = TestKey(3);
  const std::string plain = Plaintext(150);  // chunks of 64, 64 and 22 bytes
  const std::string stored = Encrypt(key, plain);
  ASSERT_EQ(Decrypt(key, stored).data, plain);
  for (size_t pos = 0; pos < stored.size(); ++pos) {
    for (uint8_t mask : {0x01, 0x80}) {
      std::string bad = stored;
      bad[pos] ^= static_cast<char>(mask);
      Decrypted d = Decrypt(key, bad);
      ASSERT_FALSE(d.status.ok()) << "flip at " << pos;
      EXPECT_EQ(d.status.message(), kMessage);
      EXPECT_EQ(d.status.code(), Code::kMalformed);
      // Only whole chunks before the damaged one may come out, and exactly as written.
      size_t chunk = pos < kEncryptionHeaderSize ? 0 : (pos - kEncryptionHeaderSize) / (kChunkOverhead + kChunk);
      EXPECT_LE(d.data.size(), chunk * kChunk) << "flip at " << pos;
      EXPECT_EQ(d.data, plain.substr(0, d.data.size()));
      EXPECT_EQ(d.data.size() % kChunk, 0u);
    }
  }
}

TEST(PipelineEncrypt, EveryTruncationIsDetected) {
  Key key = TestKey(4);
  const std::string plain = Plaintext(150);
  const std::string stored = Encrypt(key, plain);
  for (size_t len = 0; len < stored.size(); ++len) {
    Decrypted d = Decrypt(key, stored.substr(0, len));
    ASSERT_FALSE(d.status.ok()) << "truncated to " << len;
    EXPECT_EQ(d.status.message(), kMessage);
    EXPECT_EQ(d.data, plain.substr(0, d.data.size()));
  }
  // Dropping the final chunk exactly at a chunk boundary is the interesting case.
  Decrypted d = Decrypt(key, stored.substr(0, ChunkOffset(2)));
  EXPECT_EQ(d.status.message(), kMessage);
}

TEST(PipelineEncrypt, AppendedDataIsDetected) {
  Key key = TestKey(5);
  const std::string stored = Encrypt(key, Plaintext(150));
  const std::string last_chunk = stored.substr(ChunkOffset(2));
  for (const std::string& tail : {std::string(1, '\0'), std::string(4, '\0'), std::string("\x16\0\0\0", 4),
                                  std::string(20, 'x'), last_chunk, stored}) {
    Decrypted d = Decrypt(key, stored + tail);
    EXPECT_EQ(d.status.message(), kMessage) << "appended " << tail.size() << " bytes";
  }
  // And with the full pipeline, whose stored checksum would catch it too.
  std::string plain = Plaintext(150);
  StringWriter writer;
  FileStats stats;
  PipelineOptions options{.name = "base/1/2", .compression = Compression::kNone, .chunk_size = kChunk, .key = &key};
  auto sink = BuildWritePipeline(writer, options, &stats);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write(plain).ok());
  ASSERT_TRUE((*sink)->Finish().ok());
  FileStats extended = stats;  // as if the manifest had been rewritten along with the file
  extended.stored_size += 20;
  extended.stored_sha256 = Sha256Hex(writer.data() + std::string(20, 'x'));
  auto reader =
      BuildReadPipeline(std::make_unique<StringReader>(writer.data() + std::string(20, 'x')), options, extended);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(Verify(**reader).message(), kMessage);
}

TEST(PipelineEncrypt, ReorderedDroppedAndDuplicatedChunksAreDetected) {
  Key key = TestKey(6);
  const std::string stored = Encrypt(key, Plaintext(4 * kChunk + 10));
  auto chunk = [&](size_t i) { return stored.substr(ChunkOffset(i), kChunkOverhead + kChunk); };
  const std::string header = stored.substr(0, kEncryptionHeaderSize);
  const std::string last = stored.substr(ChunkOffset(4));
  for (const std::string& bad :
       {header + chunk(1) + chunk(0) + chunk(2) + chunk(3) + last, header + chunk(0) + chunk(2) + chunk(3) + last,
        header + chunk(0) + chunk(1) + chunk(1) + chunk(2) + chunk(3) + last,
        header + chunk(0) + chunk(1) + chunk(2) + last + chunk(3)}) {
    Decrypted d = Decrypt(key, bad);
    EXPECT_EQ(d.status.message(), kMessage);
  }
  // A chunk from another file under the same key does not fit either (other nonce).
  const std::string other = Encrypt(key, Plaintext(4 * kChunk + 10));
  EXPECT_EQ(Decrypt(key, header + other.substr(ChunkOffset(0))).status.message(), kMessage);
}

TEST(PipelineEncrypt, WrongKeyGivesTheExactMessage) {
  Key key = TestKey(7);
  Key other = TestKey(8);
  std::string stored = Encrypt(key, Plaintext(1000));
  Decrypted d = Decrypt(other, stored);
  EXPECT_EQ(d.status.message(), kMessage);
  EXPECT_EQ(d.status.exit_code(), 2);
  EXPECT_FALSE(d.status.hint().empty());
  EXPECT_EQ(d.data, "");

  // Through the whole pipeline: the stored checksum matches, the key does not.
  for (Compression c : {Compression::kNone, Compression::kZstd, Compression::kLz4}) {
    PipelineOptions options{.name = "base/1/2", .compression = c, .key = &key};
    StringWriter writer;
    FileStats stats;
    auto sink = BuildWritePipeline(writer, options, &stats);
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE((*sink)->Write(Plaintext(100000)).ok());
    ASSERT_TRUE((*sink)->Finish().ok());
    options.key = &other;
    auto reader = BuildReadPipeline(std::make_unique<StringReader>(writer.data()), options, stats);
    ASSERT_TRUE(reader.ok());
    Status s = Verify(**reader);
    EXPECT_EQ(s.message(), kMessage);
    EXPECT_EQ(s.code(), Code::kMalformed);
  }
}

TEST(PipelineEncrypt, ChunkSizeOutOfRange) {
  StringWriter writer;
  Key key = TestKey(9);
  for (uint32_t size : {0u, kMinChunkSize - 1, kMaxChunkSize + 1}) {
    auto sink = NewEncryptingSink(key, size, std::make_unique<WriterSink>(writer));
    EXPECT_EQ(sink.status().code(), Code::kInvalidArgument);
  }
}

TEST(PipelineEncrypt, UpstreamErrorsPassThrough) {
  class FailingReader final : public storage::Reader {
   public:
    Result<size_t> Read(char*, size_t) override { return Status::IO("connection reset reading base/1/2"); }
  };
  auto reader = NewDecryptingReader(TestKey(1), "base/1/2", std::make_unique<FailingReader>());
  char buf[16];
  auto n = reader->Read(buf, sizeof(buf));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Code::kIO);
}

}  // namespace
}  // namespace pgk::pipeline
