#include "common/parallel.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace pgk {

void ParallelFor(size_t n, int jobs, const std::function<void(int worker, size_t item)>& fn) {
  int threads = static_cast<int>(std::min<size_t>(n, static_cast<size_t>(std::max(jobs, 1))));
  std::atomic<size_t> next{0};
  auto work = [&](int worker) {
    for (size_t item = next++; item < n; item = next++) fn(worker, item);
  };
  if (threads <= 1) {
    work(0);
    return;
  }
  std::vector<std::thread> pool;
  for (int w = 0; w < threads; ++w) pool.emplace_back(work, w);
  for (auto& t : pool) t.join();
}

Status ParallelForEach(size_t n, int jobs, const std::function<Status(int worker, size_t item)>& fn,
                       const std::function<bool()>& stop) {
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first;
  ParallelFor(n, jobs, [&](int worker, size_t item) {
    if (failed || (stop && stop())) return;
    Status s = fn(worker, item);
    if (s.ok()) return;
    std::lock_guard<std::mutex> lock(mu);
    if (first.ok()) first = std::move(s);
    failed = true;
  });
  return first;
}

}  // namespace pgk
