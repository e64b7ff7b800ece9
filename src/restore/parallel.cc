#include "restore/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace pgk::restore {

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

}  // namespace pgk::restore
