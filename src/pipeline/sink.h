// The write side of the backup pipeline is push-style: the producer (pg_basebackup's tar
// stream, a WAL segment, a manifest) calls Write() as data arrives and Finish() once, and
// each stage transforms what it receives and pushes it to the Sink it wraps. Stages own the
// stage downstream of them, so the head of a chain owns the whole chain.
//
// Contract for every Sink: Write() and Finish() return the first error of this stage or of
// any stage downstream; after an error, or after Finish(), the Sink must not be used again
// (destroy it; the storage::Writer at the end is then left unclosed and aborts). A stage
// holds at most one chunk or compression block, so memory stays bounded whatever the
// stream's size. A Sink belongs to one thread.
#pragma once

#include <string_view>

#include "common/status.h"
#include "storage/storage.h"

namespace pgk::pipeline {

class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status Write(std::string_view data) = 0;
  // Flushes what this stage holds, then finishes the downstream sink.
  virtual Status Finish() = 0;
};

// The end of a write chain: forwards to a storage::Writer that the caller owns. Finish()
// is the writer's Close(), which makes the file visible and durable.
class WriterSink final : public Sink {
 public:
  explicit WriterSink(storage::Writer& writer) : writer_(writer) {}
  Status Write(std::string_view data) override;
  Status Finish() override;

 private:
  storage::Writer& writer_;
};

}  // namespace pgk::pipeline
