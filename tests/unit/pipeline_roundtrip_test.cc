// Round trips through the backup pipeline for every compression x encryption pair, and
// what the read side does with corrupted unencrypted files and wrong expectations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "common/hash.h"
#include "pipeline/base64.h"
#include "pipeline/pipeline.h"
#include "pipeline/string_io.h"

namespace pgk::pipeline {
namespace {

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, std::min<size_t>(8, n - i));
  }
  return out;
}

std::string Compressible(size_t n) {
  std::string out;
  out.reserve(n + 64);
  for (size_t i = 0; out.size() < n; ++i) out += "INSERT INTO t VALUES (" + std::to_string(i % 1000) + ", 'x');\n";
  out.resize(n);
  return out;
}

// Hands out at most `step` bytes per call, like a network stream.
class TrickleReader final : public storage::Reader {
 public:
  TrickleReader(std::string data, size_t step) : inner_(std::move(data)), step_(step) {}
  Result<size_t> Read(char* buf, size_t n) override { return inner_.Read(buf, std::min(n, step_)); }

 private:
  StringReader inner_;
  size_t step_;
};

Key TestKey(uint8_t seed) {
  Key key;
  for (size_t i = 0; i < key.bytes.size(); ++i) key.bytes[i] = static_cast<uint8_t>(seed + i * 7);
  return key;
}

// Writes `data` in pieces of the sizes in `pieces` (cycled), returns the stored bytes.
std::string Store(std::string_view data, const PipelineOptions& options, FileStats* stats,
                  const std::vector<size_t>& pieces = {1 << 20}) {
  StringWriter writer;
  auto sink = BuildWritePipeline(writer, options, stats);
  EXPECT_TRUE(sink.ok()) << sink.status().ToString();
  if (!sink.ok()) return {};
  for (size_t i = 0; !data.empty(); ++i) {
    size_t n = std::min(data.size(), pieces[i % pieces.size()]);
    EXPECT_TRUE((*sink)->Write(data.substr(0, n)).ok());
    data.remove_prefix(n);
  }
  Status finished = (*sink)->Finish();
  EXPECT_TRUE(finished.ok()) << finished.ToString();
  EXPECT_TRUE(writer.closed());
  return writer.data();
}

Result<std::string> Load(std::string stored, const PipelineOptions& options, const FileStats& expected,
                         size_t upstream_step = 1 << 20, size_t read_size = 16 << 10) {
  PGK_ASSIGN_OR_RETURN(auto reader, BuildReadPipeline(std::make_unique<TrickleReader>(std::move(stored), upstream_step),
                                                      options, expected));
  std::string out;
  std::vector<char> buf(read_size);
  while (true) {
    PGK_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data(), buf.size()));
    if (n == 0) return out;
    out.append(buf.data(), n);
  }
}

class PipelineRoundTrip : public ::testing::TestWithParam<std::tuple<Compression, bool>> {
 protected:
  PipelineOptions Options(uint32_t chunk_size = kDefaultChunkSize) {
    return {.name = "base/1/16384",
            .compression = std::get<0>(GetParam()),
            .chunk_size = chunk_size,
            .key = std::get<1>(GetParam()) ? &key_ : nullptr};
  }

  // Stores and loads `data`, checking the recorded stats; returns the stored bytes.
  std::string Check(const std::string& data, uint32_t chunk_size = kDefaultChunkSize,
                    const std::vector<size_t>& pieces = {1 << 20}, size_t upstream_step = 1 << 20,
                    size_t read_size = 16 << 10) {
    PipelineOptions options = Options(chunk_size);
    FileStats stats;
    std::string stored = Store(data, options, &stats, pieces);
    EXPECT_EQ(stats.original_size, data.size());
    EXPECT_EQ(stats.original_sha256, Sha256Hex(data));
    EXPECT_EQ(stats.stored_size, stored.size());
    EXPECT_EQ(stats.stored_sha256, Sha256Hex(stored));
    EXPECT_EQ(stats.compression, options.compression);
    EXPECT_EQ(stats.cipher, options.key ? Cipher::kAes256Gcm : Cipher::kNone);
    if (options.key != nullptr) {
      EXPECT_EQ(stored.substr(0, kEncryptionMagic.size()), kEncryptionMagic);
      if (options.compression == Compression::kNone) {
        EXPECT_EQ(stored.size(), EncryptedSize(data.size(), chunk_size));
      }
    } else if (options.compression == Compression::kNone) {
      EXPECT_EQ(stored, data);
    }
    auto loaded = Load(stored, options, stats, upstream_step, read_size);
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    if (loaded.ok()) {
      EXPECT_EQ(loaded->size(), data.size());
      EXPECT_TRUE(*loaded == data);
    }
    // Verify reads the same pipeline to the end without keeping anything.
    auto reader = BuildReadPipeline(std::make_unique<StringReader>(stored), options, stats);
    EXPECT_TRUE(reader.ok());
    if (reader.ok()) {
      EXPECT_TRUE(Verify(**reader).ok());
    }
    return stored;
  }

  Key key_ = TestKey(1);
};

TEST_P(PipelineRoundTrip, Empty) { Check(""); }

TEST_P(PipelineRoundTrip, OneByte) { Check("x"); }

TEST_P(PipelineRoundTrip, ExactlyOneChunk) { Check(RandomBytes(4096, 1), 4096); }

TEST_P(PipelineRoundTrip, ManyChunksOddPiecesAndReads) {
  std::string data = RandomBytes(4096 * 7 + 123, 2) + Compressible(50000);
  Check(data, 4096, {1, 3, 4095, 4096, 4097, 10000}, 1, 777);
  Check(data, 4096, {65536}, 5, 1);
}

TEST_P(PipelineRoundTrip, TwentyMegabytesOfRandomData) { Check(RandomBytes(20 << 20, 3)); }

TEST_P(PipelineRoundTrip, HighlyCompressibleData) {
  std::string data = Compressible(8 << 20);
  std::string stored = Check(data);
  if (std::get<0>(GetParam()) != Compression::kNone) {
    EXPECT_LT(stored.size(), data.size() / 10);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Pipeline, PipelineRoundTrip,
    ::testing::Combine(::testing::Values(Compression::kNone, Compression::kZstd, Compression::kLz4), ::testing::Bool()),
    [](const auto& param_info) {
      return std::string(CompressionName(std::get<0>(param_info.param))) +
             (std::get<1>(param_info.param) ? "_aes" : "_plain");
    });

TEST(PipelineCompression, ZstdWorkerThreadsAndLevels) {
  std::string data = Compressible(6 << 20) + RandomBytes(3 << 20, 4);
  for (auto [level, threads] : {std::pair{1, 2}, {19, 0}, {-5, 0}, {3, 1}}) {
    PipelineOptions options{
        .name = "f", .compression = Compression::kZstd, .compression_level = level, .compression_threads = threads};
    FileStats stats;
    std::string stored = Store(data, options, &stats);
    auto loaded = Load(stored, options, stats);
    ASSERT_TRUE(loaded.ok()) << level << "/" << threads << ": " << loaded.status().ToString();
    EXPECT_TRUE(*loaded == data);
  }
}

TEST(PipelineCompression, Lz4HighCompressionLevel) {
  std::string data = Compressible(1 << 20);
  PipelineOptions options{.name = "f", .compression = Compression::kLz4, .compression_level = 9};
  FileStats stats;
  std::string stored = Store(data, options, &stats);
  auto loaded = Load(stored, options, stats);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(*loaded == data);
}

TEST(PipelineCompression, OptionsOutOfRange) {
  StringWriter writer;
  for (PipelineOptions options : {PipelineOptions{.compression = Compression::kZstd, .compression_level = 20},
                                  PipelineOptions{.compression = Compression::kZstd, .compression_threads = -1},
                                  PipelineOptions{.compression = Compression::kLz4, .compression_level = 13}}) {
    auto sink = BuildWritePipeline(writer, options, nullptr);
    ASSERT_FALSE(sink.ok());
    EXPECT_EQ(sink.status().code(), Code::kInvalidArgument) << sink.status().ToString();
  }
}

TEST(PipelineCompression, NamesRoundTrip) {
  for (Compression c : {Compression::kNone, Compression::kZstd, Compression::kLz4}) {
    EXPECT_EQ(*ParseCompression(CompressionName(c)), c);
  }
  EXPECT_EQ(*ParseCipher("aes-256-gcm"), Cipher::kAes256Gcm);
  EXPECT_EQ(*ParseCipher("none"), Cipher::kNone);
  EXPECT_FALSE(ParseCompression("gzip").ok());
  EXPECT_FALSE(ParseCipher("aes").ok());
}

// Only the decompressor, so the checks below are its own and not the stored checksum's.
Status Decompress(Compression algorithm, std::string stored) {
  auto reader = NewDecompressingReader(algorithm, "f", std::make_unique<TrickleReader>(std::move(stored), 4096));
  if (!reader.ok()) return reader.status();
  return Verify(**reader);
}

class PipelineCorruptCompressed : public ::testing::TestWithParam<Compression> {};

TEST_P(PipelineCorruptCompressed, DetectsFlippedTruncatedAndExtendedStreams) {
  std::string data = Compressible(300000) + RandomBytes(100000, 5);
  FileStats stats;
  std::string stored = Store(data, {.name = "f", .compression = GetParam()}, &stats);
  ASSERT_TRUE(Decompress(GetParam(), stored).ok());
  for (size_t pos :
       {size_t{0}, size_t{5}, stored.size() / 3, stored.size() / 2, stored.size() - 5, stored.size() - 1}) {
    std::string bad = stored;
    bad[pos] ^= 0x55;
    Status s = Decompress(GetParam(), bad);
    EXPECT_FALSE(s.ok()) << "flip at " << pos;
    EXPECT_EQ(s.code(), Code::kMalformed) << s.ToString();
  }
  for (size_t len : {size_t{0}, size_t{3}, stored.size() / 2, stored.size() - 4, stored.size() - 1}) {
    Status s = Decompress(GetParam(), stored.substr(0, len));
    EXPECT_FALSE(s.ok()) << "truncated to " << len;
    EXPECT_EQ(s.code(), Code::kMalformed);
  }
  for (const std::string& tail : {std::string(1, '\0'), std::string("garbage"), stored}) {
    Status s = Decompress(GetParam(), stored + tail);
    EXPECT_FALSE(s.ok()) << "appended " << tail.size();
    EXPECT_NE(s.message().find("after the end of the compressed stream"), std::string::npos) << s.ToString();
  }
}

INSTANTIATE_TEST_SUITE_P(Pipeline, PipelineCorruptCompressed, ::testing::Values(Compression::kZstd, Compression::kLz4),
                         [](const auto& param_info) { return std::string(CompressionName(param_info.param)); });

TEST(PipelineVerify, ChecksumAndSizeMismatch) {
  std::string data = Compressible(100000);
  PipelineOptions options{.name = "base/1/2", .compression = Compression::kNone};
  FileStats stats;
  std::string stored = Store(data, options, &stats);
  const std::string kMessage = "checksum mismatch in base/1/2: the backup is corrupted";

  std::string flipped = stored;
  flipped[500] ^= 1;
  auto loaded = Load(flipped, options, stats);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message(), kMessage);
  EXPECT_EQ(loaded.status().code(), Code::kMalformed);

  EXPECT_EQ(Load(stored.substr(0, 99999), options, stats).status().message(), kMessage);
  EXPECT_EQ(Load(stored + "x", options, stats).status().message(), kMessage);

  FileStats wrong_original = stats;
  wrong_original.original_sha256 = Sha256Hex("something else");
  EXPECT_EQ(Load(stored, options, wrong_original).status().message(), kMessage);
  FileStats wrong_size = stats;
  wrong_size.original_size += 1;
  EXPECT_EQ(Load(stored, options, wrong_size).status().message(), kMessage);

  // The error is sticky: reading again does not turn into end of file.
  auto reader = BuildReadPipeline(std::make_unique<StringReader>(flipped), options, stats);
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE(Verify(**reader).ok());
  char c;
  EXPECT_FALSE((*reader)->Read(&c, 1).ok());
}

TEST(PipelineVerify, CorruptCompressedFileFailsThroughThePipeline) {
  std::string data = Compressible(1 << 20);
  for (Compression c : {Compression::kZstd, Compression::kLz4}) {
    PipelineOptions options{.name = "f", .compression = c};
    FileStats stats;
    std::string stored = Store(data, options, &stats);
    stored[stored.size() / 2] ^= 0x10;
    auto loaded = Load(stored, options, stats);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), Code::kMalformed) << loaded.status().ToString();
  }
}

TEST(PipelineVerify, RefusesMissingDigestsOrKey) {
  FileStats stats;
  std::string stored = Store("abc", {.name = "f", .compression = Compression::kNone}, &stats);
  FileStats no_digest = stats;
  no_digest.stored_sha256.clear();
  EXPECT_EQ(BuildReadPipeline(std::make_unique<StringReader>(stored), {.name = "f"}, no_digest).status().code(),
            Code::kInvalidArgument);
  FileStats encrypted = stats;
  encrypted.cipher = Cipher::kAes256Gcm;
  EXPECT_EQ(BuildReadPipeline(std::make_unique<StringReader>(stored), {.name = "f"}, encrypted).status().code(),
            Code::kInvalidArgument);
}

TEST(PipelineBase64, RoundTripAndRejects) {
  for (size_t n = 0; n < 40; ++n) {
    std::string raw = RandomBytes(n, n);
    std::string text = Base64Encode(std::span(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
    EXPECT_EQ(text.size() % 4, 0u);
    auto back = Base64Decode(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(std::string(back->begin(), back->end()), raw);
  }
  EXPECT_EQ(Base64Encode(std::span(reinterpret_cast<const uint8_t*>("foob"), 4)), "Zm9vYg==");
  EXPECT_TRUE(Base64Decode("Zm9vYg").has_value());     // padding optional
  EXPECT_FALSE(Base64Decode("Zm9vYh==").has_value());  // non-zero leftover bits
  EXPECT_FALSE(Base64Decode("Zm9v!g==").has_value());
  EXPECT_FALSE(Base64Decode("Z").has_value());
  EXPECT_FALSE(Base64Decode("Zm=v").has_value());
}

}  // namespace
}  // namespace pgk::pipeline
