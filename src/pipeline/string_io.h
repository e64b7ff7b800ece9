// storage::Reader / storage::Writer / Sink over strings: for small files built in memory
// (manifests, wrapped keys) and for tests of the pipeline without a storage driver.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "common/status.h"
#include "pipeline/sink.h"
#include "storage/storage.h"

namespace pgk::pipeline {

class StringReader final : public storage::Reader {
 public:
  explicit StringReader(std::string data) : data_(std::move(data)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t take = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, take);
    pos_ += take;
    return take;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

// Collects what is written; closed() tells whether Close() was called.
class StringWriter final : public storage::Writer {
 public:
  Status Write(std::string_view data) override {
    if (closed_) return Status::Internal("write after close");
    data_.append(data);
    return Status::Ok();
  }
  Status Close() override {
    closed_ = true;
    return Status::Ok();
  }
  void Abort() override { data_.clear(); }
  uint64_t bytes_written() const override { return data_.size(); }

  const std::string& data() const { return data_; }
  bool closed() const { return closed_; }

 private:
  std::string data_;
  bool closed_ = false;
};

// Reads `reader` to the end into a string (for small files: it keeps everything).
Result<std::string> ReadAll(storage::Reader& reader);

}  // namespace pgk::pipeline
