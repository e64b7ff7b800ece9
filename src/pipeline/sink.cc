#include "pipeline/sink.h"

namespace pgk::pipeline {

Status WriterSink::Write(std::string_view data) {
  if (data.empty()) return Status::Ok();
  return writer_.Write(data);
}

Status WriterSink::Finish() { return writer_.Close(); }

}  // namespace pgk::pipeline
