#include "wal/receive_protocol.h"

namespace pgk::wal::replication {

namespace {

constexpr size_t kXLogDataHeader = 1 + 8 + 8 + 8;
constexpr size_t kKeepaliveSize = 1 + 8 + 8 + 1;
// Seconds from 1970-01-01 to 2000-01-01.
constexpr int64_t kPgEpochOffsetS = 946684800;

uint64_t Get64(std::string_view b, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

void Put64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

}  // namespace

Result<Message> ParseMessage(std::string_view b) {
  if (b.empty()) return Status::Malformed("empty replication message");
  switch (b[0]) {
    case 'w': {
      if (b.size() < kXLogDataHeader) {
        return Status::Malformed("truncated XLogData message (" + std::to_string(b.size()) + " bytes)");
      }
      return Message(XLogData{.start = Get64(b, 1),
                              .server_end = Get64(b, 9),
                              .send_time_us = static_cast<int64_t>(Get64(b, 17)),
                              .data = b.substr(kXLogDataHeader)});
    }
    case 'k': {
      if (b.size() < kKeepaliveSize) {
        return Status::Malformed("truncated keepalive message (" + std::to_string(b.size()) + " bytes)");
      }
      return Message(Keepalive{
          .server_end = Get64(b, 1), .send_time_us = static_cast<int64_t>(Get64(b, 9)), .reply_requested = b[17] != 0});
    }
    default:
      break;
  }
  return Status::Malformed("unknown replication message type '" + std::string(1, b[0]) + "'");
}

std::string EncodeStatus(const StandbyStatus& s) {
  std::string out;
  out.reserve(1 + 4 * 8 + 1);
  out.push_back('r');
  Put64(out, s.write);
  Put64(out, s.flush);
  Put64(out, s.apply);
  Put64(out, static_cast<uint64_t>(s.now_us));
  out.push_back(s.reply_requested ? 1 : 0);
  return out;
}

int64_t PgTimeMicros(std::chrono::system_clock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return us - kPgEpochOffsetS * 1000000;
}

}  // namespace pgk::wal::replication
