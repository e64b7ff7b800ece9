// Memory stays bounded whatever the file's size: 200 MB stream from a producer thread
// through the write pipeline, a small bounded pipe, and the read pipeline, while the
// process's peak RSS is watched.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "pipeline/pipeline.h"

namespace pgk::pipeline {
namespace {

// kB of a field ("VmHWM:", "VmRSS:") of /proc/self/status; -1 when unavailable.
long StatusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  }
  return -1;
}

// Linux resets the peak RSS (VmHWM) to the current RSS on "5" (since 4.0).
bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

// A bounded in-memory pipe: a storage::Writer on one side, a storage::Reader on the other.
class Pipe {
 public:
  static constexpr size_t kCapacity = 256 << 10;

  Status Write(std::string_view data) {
    std::unique_lock lock(mu_);
    while (!data.empty()) {
      cv_.wait(lock, [&] { return buffer_.size() < kCapacity; });
      size_t take = std::min(data.size(), kCapacity - buffer_.size());
      buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
      max_buffered_ = std::max(max_buffered_, buffer_.size());
      data.remove_prefix(take);
      cv_.notify_all();
    }
    return Status::Ok();
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  size_t Read(char* buf, size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !buffer_.empty() || closed_; });
    size_t take = std::min(n, buffer_.size());
    std::copy_n(buffer_.begin(), take, buf);
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(take));
    cv_.notify_all();
    return take;
  }
  size_t max_buffered() const { return max_buffered_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<char> buffer_;
  size_t max_buffered_ = 0;
  bool closed_ = false;
};

class PipeWriter final : public storage::Writer {
 public:
  explicit PipeWriter(Pipe& pipe) : pipe_(pipe) {}
  Status Write(std::string_view data) override {
    bytes_ += data.size();
    return pipe_.Write(data);
  }
  Status Close() override {
    pipe_.Close();
    return Status::Ok();
  }
  void Abort() override { pipe_.Close(); }
  uint64_t bytes_written() const override { return bytes_; }

 private:
  Pipe& pipe_;
  uint64_t bytes_ = 0;
};

class PipeReader final : public storage::Reader {
 public:
  explicit PipeReader(Pipe& pipe) : pipe_(pipe) {}
  Result<size_t> Read(char* buf, size_t n) override { return pipe_.Read(buf, n); }

 private:
  Pipe& pipe_;
};

void StreamThroughBothSides(Compression compression, int level) {
  constexpr size_t kTotal = 200 << 20;
  constexpr size_t kPiece = 1 << 20;
  Key key;
  key.bytes.fill(7);
  PipelineOptions options{.name = "big", .compression = compression, .compression_level = level, .key = &key};
  std::string piece(kPiece, '\0');  // allocated before the peak is reset
  std::vector<char> out(64 << 10);
  if (!ResetPeakRss()) GTEST_SKIP() << "cannot reset the peak RSS here";
  long before = StatusKb("VmHWM:");
  ASSERT_GT(before, 0);

  Pipe pipe;
  FileStats stats;
  Status write_status;
  std::thread producer([&] {
    PipeWriter writer(pipe);
    auto sink = BuildWritePipeline(writer, options, &stats);
    if (!sink.ok()) {
      write_status = sink.status();
      pipe.Close();
      return;
    }
    // Pseudo-random data (xorshift), so zstd cannot shrink it and the stored stream is as
    // large as the original.
    uint64_t x = 88172645463325252ull;
    for (size_t done = 0; done < kTotal && write_status.ok(); done += kPiece) {
      for (size_t i = 0; i < kPiece; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::memcpy(piece.data() + i, &x, 8);
      }
      write_status = (*sink)->Write(piece);
    }
    if (write_status.ok()) write_status = (*sink)->Finish();
    if (!write_status.ok()) pipe.Close();
  });

  // The digests are only known at the end, so the read side checks them itself here
  // instead of through BuildReadPipeline.
  std::unique_ptr<storage::Reader> reader = std::make_unique<PipeReader>(pipe);
  reader = NewDecryptingReader(key, "big", std::move(reader));
  auto decompressing = NewDecompressingReader(compression, "big", std::move(reader));
  ASSERT_TRUE(decompressing.ok());
  HashingReader hashing(std::move(*decompressing), "big");
  Status read_status;
  while (true) {
    auto n = hashing.Read(out.data(), out.size());
    if (!n.ok()) {
      read_status = n.status();
      break;
    }
    if (*n == 0) break;
  }
  producer.join();
  long growth_kb = StatusKb("VmHWM:") - before;

  ASSERT_TRUE(write_status.ok()) << write_status.ToString();
  ASSERT_TRUE(read_status.ok()) << read_status.ToString();
  EXPECT_EQ(stats.original_size, kTotal);
  EXPECT_GT(stats.stored_size, kTotal);
  EXPECT_EQ(hashing.bytes(), kTotal);
  EXPECT_EQ(hashing.sha256_hex(), stats.original_sha256);
  EXPECT_LE(pipe.max_buffered(), Pipe::kCapacity);
  // Buffers are a chunk, a compression block or window, a thread's stack: a few MiB. A
  // stage that kept the stream would show as hundreds.
  EXPECT_LT(growth_kb, 32 << 10) << "peak RSS grew by " << growth_kb << " kB for a 200 MB stream";
}

TEST(PipelineMemory, ZstdAndAesStayBoundedFor200Megabytes) { StreamThroughBothSides(Compression::kZstd, 1); }

TEST(PipelineMemory, Lz4AndAesStayBoundedFor200Megabytes) { StreamThroughBothSides(Compression::kLz4, 0); }

}  // namespace
}  // namespace pgk::pipeline
