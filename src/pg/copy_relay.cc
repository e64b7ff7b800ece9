#include "pg/copy_relay.h"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace pgk::pg {

Result<int64_t> RelayCopy(Connection& from, const std::string& copy_out_sql, Connection& to,
                          const std::string& copy_in_sql, size_t max_buffered) {
  std::mutex mu;
  std::condition_variable cv;
  std::string pending;       // rows read from `from`, not yet handed to `to`
  bool source_done = false;  // the COPY TO has returned (source_status says how)
  bool target_done = false;  // the COPY FROM has returned: nobody reads `pending` any more
  Status source_status;
  bool stopped_by_target = false;  // the source failed only because the target had
  std::thread reader([&] {
    Status s = from.CopyOut(copy_out_sql, [&](std::string_view chunk) -> Status {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return pending.size() < max_buffered || target_done; });
      if (target_done) {
        stopped_by_target = true;
        return Status::Interrupted("the receiving COPY stopped");
      }
      pending.append(chunk);
      cv.notify_all();
      return Status::Ok();
    });
    std::lock_guard<std::mutex> lock(mu);
    source_status = s;
    source_done = true;
    cv.notify_all();
  });
  auto rows = to.CopyIn(copy_in_sql, [&](std::string& out) -> Result<bool> {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return !pending.empty() || source_done; });
    if (!pending.empty()) {
      out.swap(pending);
      cv.notify_all();
      return true;
    }
    if (!source_status.ok()) return source_status;  // aborts the COPY FROM: nothing stored
    return false;
  });
  {
    std::lock_guard<std::mutex> lock(mu);
    target_done = true;
    cv.notify_all();
  }
  reader.join();
  if (!rows.ok() && (source_status.ok() || stopped_by_target)) return rows.status();
  if (!source_status.ok()) return source_status;
  return rows;
}

}  // namespace pgk::pg
