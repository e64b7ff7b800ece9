// Shared between compress.cc and the per-algorithm files; not for other modules.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/compress.h"

namespace pgk::pipeline::internal {

// The decoding loop every algorithm shares: refill a bounded input buffer from upstream,
// decode into the caller's buffer, and tell a complete frame from a truncated one and
// from one followed by extra bytes.
class DecompressingReader : public storage::Reader {
 public:
  DecompressingReader(std::string algorithm, std::string name, std::unique_ptr<storage::Reader> upstream,
                      size_t input_buffer_size);
  Result<size_t> Read(char* buf, size_t n) final;

 protected:
  struct Step {
    size_t consumed = 0;
    size_t produced = 0;
    bool frame_done = false;  // the frame is complete and all its output delivered
  };
  // Decodes from `in` into `out`. The error message is the library's description of
  // the corruption; the caller adds the file and algorithm.
  virtual Result<Step> Decode(std::string_view in, char* out, size_t n) = 0;

 private:
  Status Fail(Status status);
  Status Corrupt(const std::string& detail) const;

  std::string algorithm_;
  std::string name_;
  std::unique_ptr<storage::Reader> upstream_;
  std::vector<char> in_;
  size_t in_pos_ = 0;
  size_t in_len_ = 0;
  bool upstream_eof_ = false;
  bool frame_done_ = false;
  Status error_;
};

Result<std::unique_ptr<Sink>> NewZstdSink(int level, int threads, std::unique_ptr<Sink> next);
Result<std::unique_ptr<storage::Reader>> NewZstdReader(std::string name, std::unique_ptr<storage::Reader> upstream);
Result<std::unique_ptr<Sink>> NewLz4Sink(int level, std::unique_ptr<Sink> next);
Result<std::unique_ptr<storage::Reader>> NewLz4Reader(std::string name, std::unique_ptr<storage::Reader> upstream);

}  // namespace pgk::pipeline::internal
